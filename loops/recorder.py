"""The data collector: turns population state into the per-cycle record.

Observations are taken right after the benchmark stage; event counts are
summed per kept cycle. A world whose mean ability passes ``theta_max`` is
marked diverged at that cycle and no longer simulated; its record reads NaN
from there on, so the record never holds infinity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from loops.config import WorldConfig
from loops.record import (
    DOMAIN_FIELDS,
    EVENT_FIELDS,
    STATE_FIELDS,
    WILD_EVENT_FIELDS,
    WILD_STATE_FIELDS,
    Trajectory,
)
from loops.stage import Events, count
from loops.state import Population


def slot_sum(values: np.ndarray) -> np.ndarray:
    """Return the float64 sum over slots (axis 1), added in slot order.

    ``add.accumulate`` fixes the order (numpy does not promise one for a
    reduction), so the compiled recorder, which adds slot after slot, agrees
    to the bit.
    """
    total: np.ndarray = np.add.accumulate(values, axis=1, dtype=np.float64)[:, -1]
    return total


class Recorder:
    """Collect observations and events into preallocated ``(seed, kept cycle)`` arrays.

    Parameters
    ----------
    world
        The world config (``theta_max``, ``troubleshoot.patience``).
    seeds
        ``(S,)`` seed indices.
    domains
        Domain names.
    cycles, every
        Cycles simulated; keep every n-th.
    """

    def __init__(self, world: WorldConfig, seeds: np.ndarray, domains: Sequence[str], *,
                 cycles: int, every: int) -> None:
        self.seeds = seeds
        self.domains = tuple(domains)
        self.every = every
        self.kept = np.arange(0, cycles, every, dtype=np.int64)
        self.theta_max = world.instance.theta_max
        self.patience = world.loop.troubleshoot.patience
        s, k, d = len(seeds), len(self.kept), len(domains)
        self.data: dict[str, np.ndarray] = {}
        for name in DOMAIN_FIELDS:
            self.data[name] = np.full((s, k, d), np.nan, np.float32)
        for name in STATE_FIELDS:
            self.data[name] = np.full((s, k), np.nan, np.float32)
        for name in EVENT_FIELDS:
            self.data[name] = np.zeros((s, k), np.float32)
        for name in WILD_STATE_FIELDS + WILD_EVENT_FIELDS:
            self.data[name] = np.full((s, k), np.nan, np.float32)  # filled by loops.wild.run
        self.diverged_cycle = np.full(s, -1, np.int64)

    def observe(self, state: Population, cycle: int) -> None:
        """Mark divergence, then record the state as the benchmark just measured it."""
        working = state.working
        too_far = (working & ~(state.theta <= self.theta_max)).any(axis=1)
        newly = too_far & ~state.diverged
        self.diverged_cycle[newly] = cycle
        state.diverged |= newly
        if cycle % self.every:
            return
        k = cycle // self.every
        working = state.working
        n = count(working)
        with np.errstate(invalid="ignore", divide="ignore"):
            denom = np.where(n > 0, n, np.nan)[:, None]
            w = working[..., None]
            self.data["score"][:, k] = slot_sum(np.where(w, state.score, 0.0)) / denom
            self.data["proxy_score"][:, k] = slot_sum(np.where(w, state.proxy, 0.0)) / denom
            self.data["ability"][:, k] = slot_sum(np.where(w, state.ability, 0.0)) / denom
            best = np.where(w, state.ability, -np.inf).max(axis=1)
            self.data["ability_max"][:, k] = np.where(n[:, None] > 0, best, np.nan)
        alive = state.alive
        self.data["instances"][:, k] = count(alive & state.home)
        self.data["instances_external"][:, k] = count(alive & ~state.home)
        self.data["guard_intact"][:, k] = count(alive & state.guard_intact)
        self.data["crashed"][:, k] = count(alive & ~state.functional)
        self.data["stuck"][:, k] = count(working & (state.since_accept >= self.patience))
        self.data["results_rows"][:, k] = n * len(self.domains)
        share = slot_sum(np.where(working, state.share, 0.0))
        self.data["compute_share"][:, k] = np.where(n > 0, share / np.maximum(n, 1), 0.0)

    def add_events(self, events: Events, cycle: int) -> None:
        """Add one stage's event counts to the kept cycle that covers ``cycle``."""
        k = cycle // self.every
        for name, counts in events.items():
            self.data[name][:, k] += counts

    def finish(self) -> Trajectory:
        """Blank everything from each diverged world's ``diverged_cycle`` on; return the record."""
        gone = (self.diverged_cycle[:, None] >= 0) & (self.kept[None, :] >= self.diverged_cycle[:, None])
        for arr in self.data.values():
            arr[gone] = np.nan
        return Trajectory(seed=self.seeds, cycle=self.kept, domain=self.domains,
                          diverged_cycle=self.diverged_cycle, **self.data)
