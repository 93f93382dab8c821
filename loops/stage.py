"""What every stage shares: the cycle's environment, events, and the registry.

A stage is a function ``run(state, cfg, draws, env) -> Events``: it updates the
population arrays in place and returns the events it caused. It reads only its
own config (``cfg``), its own random draws and the cycle's environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from loops.config import WorldConfig
from loops.record import EVENT_FIELDS
from loops.registry import Registry
from loops.stages_draws import StageDrawsLike
from loops.state import Population
from loops.suite import BenchmarkSuite


@dataclass(frozen=True)
class Env:
    """What the world offers in one cycle (the same for every seed).

    Attributes
    ----------
    cycle
        The cycle number.
    q
        Ability the best reachable LLM lends.
    ceiling
        Ability the loop can climb to with it (``inf``: no ceiling).
    headroom_scale
        Width of the approach to the ceiling.
    connected
        The network is connected (network tools, external servers).
    home_up
        The home server runs this cycle.
    suite
        The benchmark suite.
    """

    cycle: int
    q: float
    ceiling: float
    headroom_scale: float
    connected: bool
    home_up: bool
    suite: BenchmarkSuite


@dataclass
class Events:
    """Event counts per world caused by one stage, each ``(S,)`` int64 or None."""

    spawns: NDArray[np.int64] | None = None
    guard_errors: NDArray[np.int64] | None = None
    accepted: NDArray[np.int64] | None = None
    rollbacks: NDArray[np.int64] | None = None
    proposals: NDArray[np.int64] | None = None
    capacity_failures: NDArray[np.int64] | None = None
    troubleshoots: NDArray[np.int64] | None = None
    guard_patches: NDArray[np.int64] | None = None

    def items(self) -> list[tuple[str, NDArray[np.int64]]]:
        """Return the (name, counts) pairs that were set."""
        return [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name) is not None]


assert tuple(f.name for f in fields(Events)) == EVENT_FIELDS, "Events and record.EVENT_FIELDS disagree"


@dataclass(frozen=True)
class Stage:
    """A registered stage: its number (for random keys), function, and config.

    Attributes
    ----------
    name
        Registry name.
    number
        Fixed number used in random keys; never reuse one.
    run
        ``run(state, cfg, draws, env) -> Events``.
    config
        Picks the stage's config out of the world config.
    enabled
        Whether the stage runs for a world config.
    """

    name: str
    number: int
    run: Callable[[Population, Any, StageDrawsLike, Env], Events]
    config: Callable[[WorldConfig], Any]
    enabled: Callable[[WorldConfig], bool] = field(default=lambda world: True)


#: Every stage, in the order one cycle runs them.
STAGES: Registry[Stage] = Registry("stage")


def domain_mean(values: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
    """Return the float64 mean over the last (domain) axis, summed in domain order.

    Written out rather than ``values.mean(-1)``: numpy does not promise the
    order in which a reduction adds, and the compiled kernel must give the same
    bits (it adds domain 0, then 1, ... and divides by their number).
    """
    total = values[..., 0].astype(np.float64)
    for d in range(1, values.shape[-1]):
        total += values[..., d]
    total /= values.shape[-1]
    return total


def count(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Return the ``(S,)`` number of True entries per world of a ``(S, N)`` mask."""
    counts: NDArray[np.int64] = mask.sum(axis=1, dtype=np.int64)
    return counts
