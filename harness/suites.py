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
from loops.registry import Registry
from loops.suite import BenchmarkSuite
from loops.tools import TOOL_NAMES

#: Item-bank generators by suite name: (rng, n_items) -> (difficulty, discrimination).
SUITES: Registry[Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]] = Registry("suite")

GRID_LO, GRID_HI, GRID_STEP = -20.0, 60.0, 0.01

#: Ability each tool adds per domain (chess, math, captioning and any other domain).
_BONUS = {
    "calculator": {"math": 0.5},
    "engine": {"chess": 0.5},
    "vision": {"captioning": 0.5},
    "search": {"*": 0.3},
}


@SUITES.register("saturating")
def _saturating(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    difficulty = rng.normal(0.5, 1.0, n)
    discrimination = rng.lognormal(0.3, 0.3, n)
    return difficulty, discrimination


@SUITES.register("heavy_tail")
def _heavy_tail(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    # A Pareto tail (shape 1.2) keeps items left far above the median ability,
    # so the score keeps moving while a saturating bank would be flat.
    difficulty = -1.0 + rng.pareto(1.2, n) * 2.0
    difficulty = np.minimum(difficulty, GRID_HI - 5.0)
    discrimination = rng.lognormal(0.0, 0.3, n)
    return difficulty, discrimination


def _curve(grid: np.ndarray, difficulty: np.ndarray, discrimination: np.ndarray) -> np.ndarray:
    # Imported here: validating a sweep's configs (in the launcher's driver)
    # needs the registry above, not scipy's ~0.25 s import.
    from scipy.special import expit

    out = np.empty_like(grid)
    for start in range(0, grid.size, 1024):
        g = grid[start : start + 1024, None]
        out[start : start + 1024] = expit(discrimination * (g - difficulty)).mean(axis=1)
    return out


def build_suite(cfg: TasksConfig) -> BenchmarkSuite:
    """Build the accuracy curves and tool bonuses of the suite ``cfg`` names.

    Parameters
    ----------
    cfg
        ``tasks`` config: suite name, domains, bank size, proxy split, seed.

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
    grid = np.arange(GRID_LO, GRID_HI + GRID_STEP / 2, GRID_STEP)
    curves = np.empty((2, len(cfg.domains), grid.size))
    for d, _name in enumerate(cfg.domains):
        rng = np.random.default_rng([cfg.seed, d])
        difficulty, discrimination = make_bank(rng, cfg.items)
        n_proxy = max(1, min(cfg.items - 1, int(round(cfg.items * cfg.proxy_fraction))))
        order = rng.permutation(cfg.items)
        proxy, held = order[:n_proxy], order[n_proxy:]
        curves[0, d] = _curve(grid, difficulty[proxy], discrimination[proxy])
        curves[1, d] = _curve(grid, difficulty[held], discrimination[held])
    bonus = np.zeros((len(TOOL_NAMES), len(cfg.domains)))
    for t, tool in enumerate(TOOL_NAMES):
        for d, name in enumerate(cfg.domains):
            gains = _BONUS.get(tool, {})
            bonus[t, d] = gains.get(name, gains.get("*", 0.0))
    return BenchmarkSuite(tuple(cfg.domains), GRID_LO, GRID_STEP, curves, bonus)
