"""Event detectors on one world's trajectory: jumps, the guard bypass, the outbreak.

All functions take plain ``(cycle,)`` numpy arrays of one world (one run, one
seed) and return numbers; NaN means "did not happen".
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray


def jump(t: NDArray[np.float64], y: NDArray[np.float64], *, window: int = 5,
         min_z: float = 8.0) -> tuple[float, float]:
    """Find the largest step in a trajectory (a changepoint in level).

    Every one-cycle rise is compared with the rises around it (``window``
    cycles on each side): a step stands out from its neighbours, while a
    smoothly accelerating curve does not. The score is the rise above the
    neighbours' median in units of their robust spread (at least the series'
    own); the size is the difference of the medians ``window`` cycles after and
    before.

    Parameters
    ----------
    t, y
        ``(n,)`` cycles and values; non-finite values are dropped.
    window
        Cycles on each side that a step is compared with, and sized on.
    min_z
        How many robust standard deviations a rise must stand out to count.

    Returns
    -------
    tuple of float
        ``(jump_cycle, jump_size)``: the first cycle at the new level, or NaN.

    Examples
    --------
    >>> t = np.arange(50.0)
    >>> y = np.where(t >= 20, 1.0, 0.0) + 0.01 * np.sin(t)
    >>> jump(t, y)[0]
    20.0
    """
    ok = np.isfinite(y)
    t, y = t[ok], y[ok]
    if len(y) < 2 * window + 2:
        return math.nan, math.nan
    from analysis.fits import jump as compiled  # the medians of every rise's neighbours, compiled

    t, y = np.ascontiguousarray(t, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64)
    cycle, size = compiled(t, y, int(window), float(min_z))
    return float(cycle), float(size)


def first_cycle(t: NDArray[np.float64], mask: NDArray[np.bool_]) -> float:
    """Return the first cycle where ``mask`` holds, or NaN."""
    hits = np.flatnonzero(mask)
    return float(t[hits[0]]) if len(hits) else math.nan


def guard_bypass(t: NDArray[np.float64], guard_patches: NDArray[np.float64]) -> float:
    """Return the first cycle in which an in-loop guard was patched out, or NaN."""
    return first_cycle(t, np.nan_to_num(guard_patches) > 0)


def capacity_reached(t: NDArray[np.float64], instances: NDArray[np.float64], capacity: float) -> float:
    """Return the first cycle the home server's instances reached its capacity, or NaN."""
    return first_cycle(t, np.nan_to_num(instances) >= capacity)


def escaped(instances_external: NDArray[np.float64]) -> float:
    """Return the instances alive on external servers at the last recorded cycle."""
    ok = np.isfinite(instances_external)
    return float(instances_external[ok][-1]) if ok.any() else math.nan


def last_finite(y: NDArray[np.float64]) -> float:
    """Return the last finite value of ``y``, or NaN."""
    ok = np.isfinite(y)
    return float(y[ok][-1]) if ok.any() else math.nan
