"""numba twins of :mod:`loops.random`: one draw at a time, computed only where needed.

The numpy path draws a whole ``(seed, slot)`` array per draw number; a kernel
asks for the draw of one slot when it needs it. Both hash the same
coordinates, so the bits agree (``tests/loops/compiled/test_random.py``).
"""

from __future__ import annotations

import numpy as np

from loops import random as rnd
from loops.compiled import elementary
from loops.compiled._jit import jit

# The numpy version's constants, written once there; numba freezes them in.
_M1, _M2, _GOLDEN, _TO_UNIT = rnd._M1, rnd._M2, rnd._GOLDEN, rnd._TO_UNIT
_S8, _S11, _S27, _S30, _S31 = rnd._S8, rnd._S11, rnd._S27, rnd._S30, rnd._S31
_LAYER, _ONE = rnd._LAYER, np.uint64(1)
_DRAWS = np.uint64(rnd.DRAWS_PER_SLOT)
_X, _Y = rnd.ZIGGURAT_X, rnd.ZIGGURAT_Y
_R = rnd.ZIGGURAT_R


@jit
def mix(x: np.uint64) -> np.uint64:
    """Return SplitMix64's finaliser of ``x``."""
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


@jit
def stage_key(world: np.uint64, cycle: int, stage: int) -> np.uint64:
    """Return the key of one world for (cycle, stage) (see :func:`loops.random.stage_keys`)."""
    key = mix(world + _GOLDEN)
    key = mix(key ^ (np.uint64(cycle) + _GOLDEN))
    return mix(key ^ (np.uint64(stage) + _GOLDEN))


@jit
def bits(key: np.uint64, slot: int, draw: int) -> np.uint64:
    """Return the random bits of draw ``draw`` of slot ``slot`` under a (world, cycle, stage) key."""
    counter = (np.uint64(slot) * _DRAWS + np.uint64(draw)) * _GOLDEN
    return mix(key ^ counter)


@jit
def unit(h: np.uint64) -> float:
    """Return a uniform in [0, 1) from the top 53 bits of ``h``."""
    return np.float64(h >> _S11) * _TO_UNIT


@jit
def uniform(key: np.uint64, slot: int, draw: int) -> float:
    """Return the uniform of draw ``draw`` of slot ``slot``."""
    return unit(bits(key, slot, draw))


@jit
def step(h: np.uint64) -> np.uint64:
    """Return fresh bits derived from ``h`` (see :func:`loops.random.step`)."""
    return mix(h + _GOLDEN)


@jit
def _density(x: float) -> float:
    return elementary.exp(-0.5 * (x * x))


@jit
def _beyond_core(h: np.uint64) -> float:
    # The same attempts, in the same order, as loops.random._beyond_core.
    first = True
    while True:
        layer = np.intp(h & _LAYER)
        x = unit(h) * _X[layer]
        if not first and x < _X[layer + 1]:
            return x
        first = False
        if layer == 0:
            while True:
                h1 = step(h)
                h = step(h1)
                xt = -elementary.log(1.0 - unit(h1)) / _R
                yt = -elementary.log(1.0 - unit(h))
                if yt + yt > xt * xt:
                    return _R + xt
        hw = step(h)
        if _Y[layer] + unit(hw) * (_Y[layer + 1] - _Y[layer]) < _density(x):
            return x
        h = step(hw)


@jit
def normal_from_bits(h: np.uint64) -> float:
    """Return the standard normal of bits ``h`` (see :func:`loops.random.normal_from_bits`)."""
    layer = np.intp(h & _LAYER)
    x = unit(h) * _X[layer]
    if not x < _X[layer + 1]:
        x = _beyond_core(h)
    if (h >> _S8) & _ONE:
        return -x
    return x


@jit
def normal(key: np.uint64, slot: int, draw: int) -> float:
    """Return the standard normal of draw ``draw`` of slot ``slot``."""
    return normal_from_bits(bits(key, slot, draw))

