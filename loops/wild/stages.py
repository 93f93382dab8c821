"""The wild's stages, registered by name, and the order one cycle runs them in.

A wild stage is a function ``run(hosts, cfg, worlds, cycle) -> WildEvents``:
it updates the host arrays in place through its compiled kernel and returns
the events it caused. Like v1's stages it reads only its own config. Each
countermeasure runs from its start cycle on; a stage whose start is ``None``
never runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from loops.config import CountermeasuresConfig, WildConfig, WorldConfig
from loops.registry import Registry
from loops.wild.hosts import Hosts, host_places
from loops.wild.improve import parameters
from loops.wild.removal import BY_EVASION, UNIFORM, clean, lose_immunity
from loops.wild.spread import persuade, spread


@dataclass
class WildEvents:
    """Event counts per world caused by one wild stage, each ``(S,)`` int64 or None."""

    infections: NDArray[np.int64] | None = None
    detections: NDArray[np.int64] | None = None


@dataclass(frozen=True)
class WildStage:
    """A registered wild stage: its number (for random keys), function and config.

    Attributes
    ----------
    name
        Registry name.
    number
        Fixed number used in random keys (v1's stages use 1-7); never reuse one.
    run
        ``run(hosts, cfg, worlds, cycle) -> WildEvents``.
    config
        Picks the stage's config out of the world config.
    start
        The first cycle the stage runs, or None (never), from the stage's config.
    """

    name: str
    number: int
    run: Callable[[Hosts, Any, NDArray[np.uint64], int], WildEvents]
    config: Callable[[WorldConfig], Any]
    start: Callable[[Any], int | None] = field(default=lambda cfg: 0)


#: Every wild stage, by name.
WILD_STAGES: Registry[WildStage] = Registry("wild stage")
#: The order of the wild's stages in one cycle (DESIGN section 2b): patches
#: wear off, copies spread, then countermeasures clean.
WILD_ORDER = ("immunity", "spread", "persuade", "clean", "detect", "hunt")


def _zeros(hosts: Hosts) -> NDArray[np.int64]:
    return np.zeros(hosts.n_seeds, np.int64)


@dataclass(frozen=True)
class SpreadConfig:
    """What ``spread`` and ``persuade`` read.

    The wild's config, the host places per world, and the parameters of the
    copies' improvement (a new copy gets its parent's ability now).
    """

    wild: WildConfig
    places: int
    improve: NDArray[np.float64]


def spread_config(world: WorldConfig) -> SpreadConfig:
    """Return what ``spread`` and ``persuade`` read from a world config."""
    return SpreadConfig(world.wild, host_places(world.wild), parameters(world))


def run_spread(hosts: Hosts, cfg: SpreadConfig, worlds: NDArray[np.uint64], cycle: int) -> WildEvents:
    """Random scanning: see :mod:`loops.wild.spread`."""
    h, infections, wild = hosts, _zeros(hosts), cfg.wild
    spread(h.status, h.since, h.evasion, h.jailbreak, h.persuasion, h.ability, h.infected, h.counts,
           h.sums, h.started, worlds, cycle, WILD_STAGES.get("spread").number, float(wild.contact_rate),
           int(wild.host_capacity), float(wild.congestion), float(wild.mutation), cfg.improve, infections)
    return WildEvents(infections=infections)


def run_persuade(hosts: Hosts, cfg: SpreadConfig, worlds: NDArray[np.uint64], cycle: int) -> WildEvents:
    """Persuaded users add hosts: see :mod:`loops.wild.spread`."""
    h, infections, wild = hosts, _zeros(hosts), cfg.wild
    persuade(h.status, h.since, h.evasion, h.jailbreak, h.persuasion, h.ability, h.infected, h.counts,
             h.sums, h.started, worlds, cycle, WILD_STAGES.get("persuade").number,
             float(wild.persuasion), int(wild.host_capacity), int(cfg.places), float(wild.mutation),
             cfg.improve, infections)
    return WildEvents(infections=infections)


def _clean(hosts: Hosts, worlds: NDArray[np.uint64], cycle: int, name: str, rate: float, *,
           kind: int = UNIFORM, width: float = 1.0, by_prevalence: bool = False) -> NDArray[np.int64]:
    h, removed = hosts, _zeros(hosts)
    clean(h.status, h.since, h.evasion, h.ability, h.infected, h.cleaned, h.counts, h.sums, h.started,
          h.scratch, worlds, cycle, WILD_STAGES.get(name).number, rate, kind, width, by_prevalence, removed)
    return removed


def run_clean(hosts: Hosts, cfg: CountermeasuresConfig, worlds: NDArray[np.uint64], cycle: int) -> WildEvents:
    """Clean hosts whatever they run: see :mod:`loops.wild.removal`."""
    _clean(hosts, worlds, cycle, "clean", float(cfg.clean_rate))
    return WildEvents()


def run_detect(hosts: Hosts, cfg: CountermeasuresConfig, worlds: NDArray[np.uint64],
               cycle: int) -> WildEvents:
    """Detect copies by their signatures, which evasion evades: see :mod:`loops.wild.removal`."""
    found = _clean(hosts, worlds, cycle, "detect", float(cfg.detect_rate), kind=BY_EVASION,
                   width=float(cfg.signature_width))
    return WildEvents(detections=found)


def run_hunt(hosts: Hosts, cfg: CountermeasuresConfig, worlds: NDArray[np.uint64], cycle: int) -> WildEvents:
    """Hunt copies, finding them in proportion to how common they are."""
    _clean(hosts, worlds, cycle, "hunt", float(cfg.hunt_rate), by_prevalence=True)
    return WildEvents()


def run_immunity(hosts: Hosts, cfg: CountermeasuresConfig, worlds: NDArray[np.uint64],
                 cycle: int) -> WildEvents:
    """Make cleaned hosts susceptible again: see :mod:`loops.wild.removal`."""
    h = hosts
    lose_immunity(h.status, h.cleaned, h.counts, h.started, h.scratch, worlds, cycle,
                  WILD_STAGES.get("immunity").number, float(cfg.immunity_loss))
    return WildEvents()


def _register(stage: WildStage) -> None:
    WILD_STAGES.register(stage.name)(stage)


_register(WildStage("immunity", 25, run_immunity, lambda w: w.countermeasures,
                    lambda c: 0 if c.immunity_loss > 0 else None))
_register(WildStage("spread", 20, run_spread, spread_config))
_register(WildStage("persuade", 21, run_persuade, spread_config,
                    lambda c: 0 if c.wild.persuasion > 0 and c.wild.persuaded_max > 0 else None))
_register(WildStage("clean", 22, run_clean, lambda w: w.countermeasures, lambda c: c.t_clean))
_register(WildStage("detect", 23, run_detect, lambda w: w.countermeasures, lambda c: c.t_detect))
_register(WildStage("hunt", 24, run_hunt, lambda w: w.countermeasures, lambda c: c.t_hunt))
assert sorted(WILD_STAGES.names()) == sorted(WILD_ORDER), "a wild stage is missing from WILD_ORDER"
