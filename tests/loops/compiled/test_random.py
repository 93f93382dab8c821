"""The compiled draws give the numpy draws' bits: keys, uniforms and normals."""

from __future__ import annotations

import numba
import numpy as np

from loops.compiled import random as compiled
from loops.random import Streams, mix, normal_from_bits


@numba.njit
def _grid(worlds: np.ndarray, cycle: int, stage: int, n_slots: int,
          draw: int) -> tuple[np.ndarray, np.ndarray]:
    uniforms = np.empty((worlds.size, n_slots))
    normals = np.empty((worlds.size, n_slots))
    for s in range(worlds.size):
        key = compiled.stage_key(worlds[s], cycle, stage)
        for i in range(n_slots):
            uniforms[s, i] = compiled.uniform(key, i, draw)
            normals[s, i] = compiled.normal(key, i, draw)
    return uniforms, normals


@numba.njit
def _normals(bits: np.ndarray) -> np.ndarray:
    out = np.empty(bits.size)
    for i in range(bits.size):
        out[i] = compiled.normal_from_bits(bits[i])
    return out


def test_stage_draws_are_the_numpy_draws() -> None:
    streams = Streams(11, range(40))
    for cycle, stage, draw in ((0, 1, 0), (17, 2, 9), (123_456, 6, 63)):
        draws = streams.stage(cycle, stage, n_slots=2048)
        uniforms, normals = _grid(streams.worlds, cycle, stage, 2048, draw)
        np.testing.assert_array_equal(uniforms, draws.uniform(draw))
        np.testing.assert_array_equal(normals.view(np.uint64), draws.normal(draw).view(np.uint64))


def test_normals_agree_on_the_rare_paths_too() -> None:
    # 4 million draws reach the wedges about 60,000 times and the tail about 1,000 times.
    bits = mix(np.arange(4_000_000, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    want = normal_from_bits(bits)
    assert (np.abs(want) > 3.6541528853610088).sum() > 500
    np.testing.assert_array_equal(_normals(bits).view(np.uint64), want.view(np.uint64))
