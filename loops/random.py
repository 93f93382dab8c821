"""Counter-based random draws: every draw is a function of its coordinates.

A draw is ``hash(run seed, seed index, cycle, stage, slot, draw)``: there is no
generator state to advance, so a seed's trajectory is bit-identical whatever
else shares its batch, and whichever slots happen to be alive. The hash is
SplitMix64's finaliser (Steele, Lea & Flood 2014), a bijective mixer that passes
BigCrush when fed a counter; we feed it keys built by chaining the mixer.

A uniform is the top 53 bits of a draw. A standard normal is one draw put
through a 256-layer ziggurat (Marsaglia & Tsang 2000): about 99% of draws are
accepted by one table lookup, one multiply and one comparison, and only the
rest need ``exp`` or ``log`` (:mod:`loops.elementary`, the same bits on every
CPU) and further bits, which come from stepping the draw through the mixer
again (:func:`step`). No transcendental function of the C library or of
numpy's SIMD loops is involved, so normals are the same bits on every machine
and in the compiled kernel (``loops.compiled``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from loops import elementary

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_S8, _LAYER = np.uint64(8), np.uint64(255)
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


def step(bits: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Return fresh bits derived from ``bits``: ``mix(bits + golden ratio)``.

    The ziggurat's rare second attempts draw their bits this way, so a normal
    still depends only on its draw's coordinates.
    """
    with np.errstate(over="ignore"):
        return mix(bits + _GOLDEN)


def unit(bits: NDArray[np.uint64]) -> NDArray[np.float64]:
    """Return uniforms in [0, 1) from the top 53 of 64 random bits (exactly representable)."""
    return (bits >> _S11).astype(np.float64) * _TO_UNIT


def _key(*parts: NDArray[np.uint64] | np.uint64 | int) -> NDArray[np.uint64]:
    acc: NDArray[np.uint64] = np.zeros((), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for p in parts:
            acc = mix(np.asarray(acc, dtype=np.uint64) ^ np.asarray(p, dtype=np.uint64) + _GOLDEN)
    return np.asarray(acc, dtype=np.uint64)


# --- the ziggurat -----------------------------------------------------------

#: Start of the tail and area of each of the 256 layers under exp(-x**2 / 2)
#: (Marsaglia & Tsang 2000, 256 layers).
ZIGGURAT_R = 3.6541528853610088
ZIGGURAT_V = 4.92867323399e-3


def _density(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unnormalised normal density ``exp(-x**2 / 2)``."""
    return elementary.exp(-0.5 * (x * x))


def _ziggurat_tables() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return the layer edges ``X`` (257,) and densities ``Y = f(X)`` (257,).

    Layer 0 is the base strip (a rectangle of width ``X[0] = V / f(R)`` whose
    part beyond ``R`` stands for the tail); layer ``i >= 1`` spans ``[0, X[i]]``
    between heights ``Y[i]`` and ``Y[i + 1]``; ``X[256] = 0``, ``Y[256] = 1``.
    Built from :mod:`loops.elementary`, so the same on every machine.
    """
    r, v = ZIGGURAT_R, ZIGGURAT_V
    x = np.zeros(257)
    x[0] = v / float(_density(np.asarray(r)))
    x[1] = r
    for i in range(1, 255):
        x[i + 1] = np.sqrt(-2.0 * float(elementary.log(v / x[i] + float(_density(x[i : i + 1])[0]))))
    y = np.ones(257)
    y[0] = 0.0  # unused: layer 0 is accepted or goes to the tail
    y[1:256] = _density(x[1:256])
    return x, y


ZIGGURAT_X, ZIGGURAT_Y = _ziggurat_tables()


def _tail(bits: NDArray[np.uint64]) -> NDArray[np.float64]:
    """Return draws from the normal tail beyond ``R`` (Marsaglia 1964), one per element of ``bits``."""
    r = ZIGGURAT_R
    out = np.empty(bits.shape)
    todo = np.arange(bits.size)
    h = bits.copy()
    while todo.size:
        h1 = step(h[todo])
        h2 = step(h1)
        xt = -elementary.log(1.0 - unit(h1)) / r
        yt = -elementary.log(1.0 - unit(h2))
        ok = yt + yt > xt * xt
        out[todo[ok]] = r + xt[ok]
        h[todo] = h2
        todo = todo[~ok]
    return out


def normal_from_bits(bits: NDArray[np.uint64]) -> NDArray[np.float64]:
    """Return one standard normal per element of ``bits`` (a 256-layer ziggurat).

    Bits 0-7 choose the layer, bit 8 the sign, bits 11-63 the position. An
    attempt outside a layer's core tries the wedge (or the tail, for layer 0)
    and, if rejected, starts again from :func:`step` of its bits.

    Examples
    --------
    >>> z = normal_from_bits(np.arange(100_000, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    >>> bool(abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02)
    True
    """
    h = np.asarray(bits, dtype=np.uint64)
    xs = ZIGGURAT_X
    layer = (h & _LAYER).astype(np.intp)
    x = unit(h)
    x *= xs[layer]
    core = x < xs[layer + 1]
    if not core.all():
        x[~core] = _beyond_core(h[~core])
    return np.where((h >> _S8) & np.uint64(1), -x, x)


def _beyond_core(bits: NDArray[np.uint64]) -> NDArray[np.float64]:
    """Return the magnitude for attempts that fell outside their layer's core (about 1%)."""
    xs, ys = ZIGGURAT_X, ZIGGURAT_Y
    out = np.empty(bits.shape)
    todo = np.arange(bits.size)
    h = bits.copy()
    first = True
    while todo.size:
        hp = h[todo]
        layer = (hp & _LAYER).astype(np.intp)
        x = unit(hp) * xs[layer]
        done = x < xs[layer + 1] if not first else np.zeros(todo.size, bool)
        first = False
        tail = ~done & (layer == 0)
        if tail.any():
            x[tail] = _tail(hp[tail])
            done |= tail
        wedge = ~done
        hw = step(hp[wedge])
        lw = layer[wedge]
        accept = ys[lw] + unit(hw) * (ys[lw + 1] - ys[lw]) < _density(x[wedge])
        done[wedge] = accept
        out[todo[done]] = x[done]
        # A rejected wedge attempt starts over on fresh bits (the sign stays the first draw's).
        h[todo[wedge]] = step(hw)
        todo = todo[~done]
    return out


class StageDraws:
    """The random draws of one stage in one cycle, for every seed and slot.

    Parameters
    ----------
    worlds
        ``(seed,)`` uint64: each world's key (:attr:`Streams.worlds`).
    cycle, stage
        The cycle and the stage number.
    n_slots
        Instance slots per world.

    Examples
    --------
    >>> streams = Streams(run_seed=0, seed_indices=[0, 1])
    >>> u = streams.stage(cycle=3, stage=1, n_slots=4).uniform(0)
    >>> u.shape
    (2, 4)
    """

    def __init__(self, worlds: NDArray[np.uint64], cycle: int, stage: int, n_slots: int) -> None:
        self.worlds = worlds
        self.cycle = cycle
        self.stage = stage
        self.n_slots = n_slots

    @functools.cached_property
    def keys(self) -> NDArray[np.uint64]:
        """``(seed,)`` uint64: one key per world for this (cycle, stage)."""
        return stage_keys(self.worlds, self.cycle, self.stage)

    @functools.cached_property
    def _keys(self) -> NDArray[np.uint64]:
        return self.keys[:, None]

    @functools.cached_property
    def _slots(self) -> NDArray[np.uint64]:
        return np.arange(self.n_slots, dtype=np.uint64)[None, :] * np.uint64(DRAWS_PER_SLOT)

    def bits(self, draw: int) -> NDArray[np.uint64]:
        """Return ``(seed, slot)`` uint64 random bits for draw number ``draw``."""
        if not 0 <= draw < DRAWS_PER_SLOT:
            raise ValueError(f"draw number {draw} outside [0, {DRAWS_PER_SLOT})")
        with np.errstate(over="ignore"):
            counter = (self._slots + np.uint64(draw)) * _GOLDEN
            return _mix_inplace(self._keys ^ counter)

    def uniform(self, draw: int) -> NDArray[np.float64]:
        """Return ``(seed, slot)`` uniforms in [0, 1) for draw number ``draw``."""
        return unit(self.bits(draw))

    def normal(self, draw: int) -> NDArray[np.float64]:
        """Return ``(seed, slot)`` standard normals for draw number ``draw``."""
        return normal_from_bits(self.bits(draw))

    def _bits_at(self, draw: int, seed: NDArray[np.intp], slot: NDArray[np.intp]) -> NDArray[np.uint64]:
        with np.errstate(over="ignore"):
            counter = (slot.astype(np.uint64) * np.uint64(DRAWS_PER_SLOT) + np.uint64(draw)) * _GOLDEN
            return mix(self._keys[seed, 0] ^ counter)

    def uniform_at(self, draw: int, seed: NDArray[np.intp], slot: NDArray[np.intp]) -> NDArray[np.float64]:
        """Return uniforms for draw ``draw`` at the points ``(seed[i], slot[i])`` only.

        Bit-identical to ``uniform(draw)[seed, slot]`` but costs O(points).
        """
        return unit(self._bits_at(draw, seed, slot))

    def normal_at(self, draw: int, seed: NDArray[np.intp], slot: NDArray[np.intp]) -> NDArray[np.float64]:
        """Return normals at the points ``(seed[i], slot[i])``; equals ``normal(draw)[seed, slot]``."""
        return normal_from_bits(self._bits_at(draw, seed, slot))

    def normals(self, draw: int, n: int) -> NDArray[np.float64]:
        """Return ``(seed, slot, n)`` standard normals on draws ``draw .. draw + n - 1``."""
        out = np.empty(self._keys.shape[:1] + self._slots.shape[1:] + (n,))
        for i in range(n):
            out[..., i] = self.normal(draw + i)
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
        #: ``(seed,)`` uint64: each world's key.
        self.worlds = _key(np.uint64(run_seed), idx)

    def stage(self, cycle: int, stage: int, n_slots: int) -> StageDraws:
        """Return the draws of stage number ``stage`` at ``cycle``."""
        return StageDraws(self.worlds, cycle, stage, n_slots)


def stage_keys(worlds: NDArray[np.uint64], cycle: int, stage: int) -> NDArray[np.uint64]:
    """Return the ``(seed,)`` keys of stage number ``stage`` at ``cycle`` from the world keys."""
    return _key(worlds, np.uint64(cycle), np.uint64(stage))
