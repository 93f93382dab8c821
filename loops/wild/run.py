"""The wild within the cycle driver: when it begins, its stages each cycle, and its record.

An outbreak (``wild.from_escape`` off) begins at cycle 0 with
``wild.seed_copies`` infected hosts carrying the genome ``wild.*0``. Joined to
act 1 (``from_escape``), the wild begins at ``interventions.t_shutdown``: the
copies alive on external servers in that cycle become its first infected
hosts, carrying their measured ability. Either way the first hosts scan in
the cycle the wild begins.

The wild runs after v1's stages in every cycle and is observed at the end of
the cycle (after its countermeasures); its record is NaN before it begins.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from loops.config import WorldConfig
from loops.recorder import Recorder
from loops.state import Population
from loops.wild.begin import check, start_cycle
from loops.wild.hosts import (
    EVER,
    INFECTED,
    N_CLEANED,
    N_EVER,
    N_INFECTED,
    SUM_ABILITY,
    SUM_EVASION,
    Hosts,
    empty_hosts,
)
from loops.wild.improve import RATE, mean_ability, parameters
from loops.wild.stages import WILD_ORDER, WILD_STAGES, WildEvents


def seed_hosts(hosts: Hosts, s: int, n: int, *, evasion: float, jailbreak: float, persuasion: float,
               ability: NDArray[np.float64] | float, since: int) -> None:
    """Infect hosts ``0 .. n-1`` of world ``s`` with one genome each (in place).

    Hosts are scanned uniformly at random, so which ones start infected does not matter.
    """
    n = min(n, int(hosts.counts[s, 2]))
    idx = np.arange(n)
    hosts.status[s, idx] = INFECTED | EVER
    hosts.since[s, idx] = since
    hosts.evasion[s, idx] = evasion
    hosts.jailbreak[s, idx] = jailbreak
    hosts.persuasion[s, idx] = persuasion
    hosts.ability[s, idx] = ability
    hosts.infected[s, :n] = idx
    hosts.counts[s, N_INFECTED] = n
    hosts.counts[s, N_EVER] = n
    total = np.add.accumulate(hosts.evasion[s, :n], dtype=np.float64)  # in host order, like the kernels
    hosts.sums[s, SUM_EVASION] = float(total[-1]) if n else 0.0
    total = np.add.accumulate(hosts.ability[s, :n], dtype=np.float64)
    hosts.sums[s, SUM_ABILITY] = float(total[-1]) if n else 0.0
    hosts.started[s] = True


class WildRun:
    """The wild of a batch of worlds: its hosts, its stages and its share of the record.

    Parameters
    ----------
    world
        The world config.
    worlds
        ``(S,)`` uint64 world keys (``loops.random.Streams.worlds``).
    """

    def __init__(self, world: WorldConfig, worlds: NDArray[np.uint64]) -> None:
        check(world)
        self.world = world
        self.worlds = worlds
        self.start = start_cycle(world)
        self.hosts = empty_hosts(world.wild, len(worlds))
        self.improve = parameters(world)
        self._ability = np.zeros(len(worlds), np.float64)
        stages = [WILD_STAGES.get(name) for name in WILD_ORDER]
        self.stages = [(stage, stage.config(world)) for stage in stages]
        self.stages = [(stage, cfg) for stage, cfg in self.stages if stage.start(cfg) is not None]

    def _begin(self, state: Population, cycle: int) -> None:
        wild = self.world.wild
        for s in range(self.hosts.n_seeds):
            if wild.from_escape:
                escaped = np.flatnonzero(state.alive[s] & ~state.home)
                self.seed_hosts(s, escaped.size, ability=state.theta[s, escaped], since=cycle - 1)
            else:
                self.seed_hosts(s, wild.seed_copies, ability=0.0, since=cycle - 1)

    def seed_hosts(self, s: int, n: int, *, ability: NDArray[np.float64] | float, since: int) -> None:
        """Infect ``n`` hosts of world ``s`` with the first copies' genome (``wild.*0``)."""
        wild = self.world.wild
        seed_hosts(self.hosts, s, n, evasion=wild.evasion0, jailbreak=wild.jailbreak0,
                   persuasion=wild.persuasion0, ability=ability, since=since)

    def step(self, state: Population, cycle: int, recorder: Recorder) -> None:
        """Run the wild's stages for ``cycle`` and record it (after v1's stages)."""
        if self.start is None or cycle < self.start:
            return
        if cycle == self.start:
            self._begin(state, cycle)
        events = WildEvents(infections=np.zeros(self.hosts.n_seeds, np.int64),
                            detections=np.zeros(self.hosts.n_seeds, np.int64))
        for stage, cfg in self.stages:
            first = stage.start(cfg)
            if first is None or cycle < first:
                continue
            caused = stage.run(self.hosts, cfg, self.worlds, cycle)
            for name in ("infections", "detections"):
                counts = getattr(caused, name)
                if counts is not None:
                    getattr(events, name)[...] += counts
        self.observe(recorder, cycle, events)

    def observe(self, recorder: Recorder, cycle: int, events: WildEvents) -> None:
        """Record the wild at the end of ``cycle``: its state if the cycle is kept, its events summed."""
        k = cycle // recorder.every
        data = recorder.data
        for name in ("infections", "detections"):
            col = data[name][:, k]
            data[name][:, k] = np.where(np.isnan(col), 0.0, col) + getattr(events, name)
        if cycle % recorder.every:
            return
        counts = self.hosts.counts
        infected = counts[:, N_INFECTED].astype(np.float64)
        data["hosts_infected"][:, k] = infected
        data["hosts_cleaned"][:, k] = counts[:, N_CLEANED]
        data["hosts_ever_infected"][:, k] = counts[:, N_EVER]
        data["copies_wild"][:, k] = infected * self.world.wild.host_capacity
        with np.errstate(invalid="ignore", divide="ignore"):
            data["evasion_mean"][:, k] = np.where(infected > 0, self.hosts.sums[:, SUM_EVASION] / infected,
                                                  np.nan)
            if self.improve[RATE] > 0:  # each copy's ability now (loops.wild.improve)
                h = self.hosts
                mean_ability(h.ability, h.since, h.jailbreak, h.infected, counts[:, N_INFECTED], cycle,
                             self.improve, self._ability)
                data["ability_wild"][:, k] = self._ability
            else:  # no copy improves: each has the ability it had when its host was infected
                total = self.hosts.sums[:, SUM_ABILITY]
                data["ability_wild"][:, k] = np.where(infected > 0, total / infected, np.nan)
