"""What several kernels share: the accuracy lookup and numpy's clamping rules.

Each helper mirrors one numpy expression of the numpy path, operation for
operation, and says which.
"""

from __future__ import annotations

import numpy as np

from loops.compiled._jit import jit
from loops.config import GuardMode
from loops.suite import BenchmarkSuite

#: Guard modes as the kernels see them.
GUARD_CODES = {GuardMode.none: 0, GuardMode.in_loop: 1, GuardMode.external: 2}


@jit
def at_least(x: float, lo: float) -> float:
    """``np.maximum(x, lo)`` for floats: ``x`` if ``x >= lo`` or NaN, else ``lo``."""
    if x >= lo or x != x:
        return x
    return lo


@jit
def clip(x: float, lo: float, hi: float) -> float:
    """``np.clip(x, lo, hi)`` for a float that is not NaN."""
    if not x > lo:
        x = lo
    if not x < hi:
        x = hi
    return x


@jit
def accuracy(curves: np.ndarray, part: int, d: int, ability: float,
             lo: float, inv_step: float, top: float) -> float:
    """Return the expected accuracy at ``ability`` on domain ``d`` (``BenchmarkSuite.accuracy``)."""
    x = (ability - lo) * inv_step
    if x != x:
        x = 0.0  # the numpy path's nan_to_num after the clip
    x = clip(x, 0.0, top)
    i = np.uintp(x)  # unsigned: numba adds no negative-index wraparound
    w = x - np.float64(i)
    c0 = curves[part, d, i]
    c1 = curves[part, d, i + np.uintp(1)]
    return (c1 - c0) * w + c0


def suite_arrays(suite: BenchmarkSuite) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Return what the kernels need of a suite: curves, bonus table, grid start, 1/step, top."""
    return suite.curves, suite.bonus_table, suite.grid_lo, suite.inv_step, suite.grid_top
