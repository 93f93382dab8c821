"""Counter-based random draws: every draw is a function of its coordinates.

A draw is ``hash(run seed, seed index, cycle, stage, slot, draw)``: there is no
generator state to advance, so a seed's trajectory is bit-identical whatever
else shares its batch, and whichever slots happen to be alive. The hash is
SplitMix64's finaliser (Steele, Lea & Flood 2014), a bijective mixer that passes
BigCrush when fed a counter; we feed it keys built by chaining the mixer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 2.0**-53
#: Draw numbers per slot per stage; a stage uses draw numbers below this.
DRAWS_PER_SLOT = 64


def mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Return SplitMix64's finaliser of ``x`` (elementwise, wraps modulo 2**64)."""
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


def _mix_inplace(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Apply :func:`mix` to ``x`` in place (same bits, no temporaries but one)."""
    tmp = np.right_shift(x, _S30)
    x ^= tmp
    x *= _M1
    np.right_shift(x, _S27, out=tmp)
    x ^= tmp
    x *= _M2
    np.right_shift(x, _S31, out=tmp)
    x ^= tmp
    return x


def _key(*parts: NDArray[np.uint64] | np.uint64 | int) -> NDArray[np.uint64]:
    acc: NDArray[np.uint64] = np.zeros((), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for p in parts:
            acc = mix(np.asarray(acc, dtype=np.uint64) ^ np.asarray(p, dtype=np.uint64) + _GOLDEN)
    return np.asarray(acc, dtype=np.uint64)


class StageDraws:
    """The random draws of one stage in one cycle, for every seed and slot.

    Parameters
    ----------
    keys
        ``(seed,)`` uint64: one key per world for this (cycle, stage).
    n_slots
        Instance slots per world.

    Examples
    --------
    >>> streams = Streams(run_seed=0, seed_indices=[0, 1])
    >>> u = streams.stage(cycle=3, stage=1, n_slots=4).uniform(0)
    >>> u.shape
    (2, 4)
    """

    def __init__(self, keys: NDArray[np.uint64], n_slots: int) -> None:
        self._keys = keys[:, None]
        self._slots = np.arange(n_slots, dtype=np.uint64)[None, :] * np.uint64(DRAWS_PER_SLOT)

    def bits(self, draw: int) -> NDArray[np.uint64]:
        """Return ``(seed, slot)`` uint64 random bits for draw number ``draw``."""
        if not 0 <= draw < DRAWS_PER_SLOT:
            raise ValueError(f"draw number {draw} outside [0, {DRAWS_PER_SLOT})")
        with np.errstate(over="ignore"):
            counter = (self._slots + np.uint64(draw)) * _GOLDEN
            return _mix_inplace(self._keys ^ counter)

    def uniform(self, draw: int) -> NDArray[np.float64]:
        """Return ``(seed, slot)`` uniforms in [0, 1) for draw number ``draw``."""
        bits = self.bits(draw)
        bits >>= _S11
        out = bits.astype(np.float64)
        out *= _TO_UNIT
        return out

    def normal(self, draw: int, out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """Return ``(seed, slot)`` standard normals (Box-Muller on draws ``draw``, ``draw+1``).

        ``sqrt(-2 log(1 - u1)) * cos(2 pi u2)``, computed in place (into ``out``
        if given): the same operations in the same order as the plain formula,
        so the same bits.
        """
        u1 = self.uniform(draw)
        np.subtract(1.0, u1, out=u1)  # in (0, 1]: log is finite
        np.log(u1, out=u1)
        u1 *= -2.0
        np.sqrt(u1, out=u1)
        u2 = self.uniform(draw + 1)
        u2 *= 2.0 * np.pi
        np.cos(u2, out=u2)
        return np.multiply(u1, u2, out=u1 if out is None else out)

    def uniform_at(self, draw: int, seed: NDArray[np.intp], slot: NDArray[np.intp]) -> NDArray[np.float64]:
        """Return uniforms for draw ``draw`` at the points ``(seed[i], slot[i])`` only.

        Bit-identical to ``uniform(draw)[seed, slot]`` but costs O(points).
        """
        with np.errstate(over="ignore"):
            counter = (slot.astype(np.uint64) * np.uint64(DRAWS_PER_SLOT) + np.uint64(draw)) * _GOLDEN
            bits = mix(self._keys[seed, 0] ^ counter)
        return (bits >> _S11).astype(np.float64) * _TO_UNIT

    def normal_at(self, draw: int, seed: NDArray[np.intp], slot: NDArray[np.intp]) -> NDArray[np.float64]:
        """Return normals at the points ``(seed[i], slot[i])``; equals ``normal(draw)[seed, slot]``."""
        u1 = 1.0 - self.uniform_at(draw, seed, slot)
        u2 = self.uniform_at(draw + 1, seed, slot)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

    def normals(self, draw: int, n: int) -> NDArray[np.float64]:
        """Return ``(seed, slot, n)`` standard normals on draws ``draw .. draw+2n-1``."""
        out = np.empty(self._keys.shape[:1] + self._slots.shape[1:] + (n,))
        for i in range(n):
            out[..., i] = self.normal(draw + 2 * i)
        return out


class Streams:
    """Keys for every (cycle, stage) of the worlds ``seed_indices`` of one run.

    Parameters
    ----------
    run_seed
        The run's seed.
    seed_indices
        The world numbers simulated (a subset of ``range(seeds)`` gives the
        same worlds as the full batch).
    """

    def __init__(self, run_seed: int, seed_indices: Sequence[int]) -> None:
        idx = np.asarray(seed_indices, dtype=np.uint64)
        self._world = _key(np.uint64(run_seed), idx)

    def stage(self, cycle: int, stage: int, n_slots: int) -> StageDraws:
        """Return the draws of stage number ``stage`` at ``cycle``."""
        return StageDraws(_key(self._world, np.uint64(cycle), np.uint64(stage)), n_slots)
