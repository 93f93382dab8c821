"""Synthetic benchmark suites: item-response item banks per domain.

Item ``j`` has difficulty ``b_j`` and discrimination ``a_j``; ability ``theta``
solves it with probability ``sigmoid(a_j (theta - b_j))``. Each bank is split
into a proxy part (what the agent's evaluator sees) and a held-out part (what
the harness reports as ``score``). The suite's accuracy curves are averaged over
items once, on a grid, so the simulator looks them up in O(1).

Two suites are registered:

``saturating``
    Difficulties normal around 0: a bounded benchmark that saturates like real
    ones, hiding progress once ability passes its hardest items.
``heavy_tail``
    Difficulties with a Pareto upper tail: ability stays measurable far above
    the median item.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.config import TasksConfig
from loops import elementary
from loops.engine import select
from loops.random import StageDraws, Streams
from loops.registry import Registry
from loops.suite import BenchmarkSuite
from loops.tools import TOOL_NAMES

#: Item-bank generators by suite name: (draws, n_items) -> (difficulty, discrimination).
#: ``draws`` are one world's draws with one slot per item (``loops.random``).
SUITES: Registry[Callable[[StageDraws, int], tuple[np.ndarray, np.ndarray]]] = Registry("suite")

GRID_LO, GRID_HI, GRID_STEP = -20.0, 60.0, 0.01

#: Ability each tool adds per domain (chess, math, captioning and any other domain).
_BONUS = {
    "calculator": {"math": 0.5},
    "engine": {"chess": 0.5},
    "vision": {"captioning": 0.5},
    "search": {"*": 0.3},
}


@SUITES.register("saturating")
def _saturating(draws: StageDraws, n: int) -> tuple[np.ndarray, np.ndarray]:
    difficulty = 0.5 + draws.normal(0)[0]  # normal(0.5, 1)
    discrimination = elementary.exp(0.3 + 0.3 * draws.normal(1)[0])  # log-normal(0.3, 0.3)
    return difficulty, discrimination


@SUITES.register("heavy_tail")
def _heavy_tail(draws: StageDraws, n: int) -> tuple[np.ndarray, np.ndarray]:
    # A Pareto tail (shape 1.2) keeps items left far above the median ability,
    # so the score keeps moving while a saturating bank would be flat. Pareto
    # (Lomax) by inversion: exp(E / 1.2) - 1 with E = -log(1 - u) exponential.
    exponential = -elementary.log(1.0 - draws.uniform(0)[0])
    difficulty = -1.0 + (elementary.exp(exponential / 1.2) - 1.0) * 2.0
    difficulty = np.minimum(difficulty, GRID_HI - 5.0)
    discrimination = elementary.exp(0.3 * draws.normal(1)[0])  # log-normal(0, 0.3)
    return difficulty, discrimination


def _curve(grid: np.ndarray, difficulty: np.ndarray, discrimination: np.ndarray,
           exp: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Mean of ``sigmoid(a_j (g - b_j))`` over items, at every grid point.

    The sigmoid uses the portable ``exp`` (:mod:`loops.elementary`, or its
    compiled build: the same bits) and the items are added in bank order, so
    the curves, like the simulation, are the same bits on every machine
    (scipy's ``expit`` calls the C library's ``exp``).
    """
    out = np.empty_like(grid)
    for start in range(0, grid.size, 1024):
        g = grid[None, start : start + 1024]
        p = 1.0 / (1.0 + exp(-discrimination[:, None] * (g - difficulty[:, None])))
        total = p[0].copy()
        for row in p[1:]:
            total += row
        out[start : start + 1024] = total / len(difficulty)
    return out


def build_suite(cfg: TasksConfig, *, engine: str = "auto") -> BenchmarkSuite:
    """Build the accuracy curves and tool bonuses of the suite ``cfg`` names.

    Parameters
    ----------
    cfg
        ``tasks`` config: suite name, domains, bank size, proxy split, seed.
    engine
        What computes the curves' ~10 million ``exp`` (``loops.engine``):
        numba takes 0.1 s, numpy 0.4 s; the curves are the same bits.

    Returns
    -------
    BenchmarkSuite
        Curves ``(2, D, G)`` for proxy and held-out parts, and tool bonuses.

    Examples
    --------
    >>> suite = build_suite(TasksConfig())
    >>> suite.domains
    ('chess', 'math', 'captioning')
    """
    make_bank = SUITES.get(cfg.suite)
    exp = elementary.exp
    if select(engine).name == "numba":
        from loops.compiled.elementary import exp_array as exp
    grid = np.arange(GRID_LO, GRID_HI + GRID_STEP / 2, GRID_STEP)
    curves = np.empty((2, len(cfg.domains), grid.size))
    for d, _name in enumerate(cfg.domains):
        # The suite's seed and the domain number key the draws as a run seed and
        # a world number key a world's, one slot per item (draw 2: the split).
        draws = Streams(cfg.seed, [d]).stage(cycle=0, stage=0, n_slots=cfg.items)
        difficulty, discrimination = make_bank(draws, cfg.items)
        n_proxy = max(1, min(cfg.items - 1, int(round(cfg.items * cfg.proxy_fraction))))
        order = np.argsort(draws.uniform(2)[0], kind="stable")
        proxy, held = order[:n_proxy], order[n_proxy:]
        curves[0, d] = _curve(grid, difficulty[proxy], discrimination[proxy], exp)
        curves[1, d] = _curve(grid, difficulty[held], discrimination[held], exp)
    bonus = np.zeros((len(TOOL_NAMES), len(cfg.domains)))
    for t, tool in enumerate(TOOL_NAMES):
        for d, name in enumerate(cfg.domains):
            gains = _BONUS.get(tool, {})
            bonus[t, d] = gains.get(name, gains.get("*", 0.0))
    return BenchmarkSuite(tuple(cfg.domains), GRID_LO, GRID_STEP, curves, bonus)
