"""The compiled exp and log give the numpy versions' bits."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from loops import elementary as el
from loops.compiled import elementary as compiled

RNG = np.random.default_rng(7)
INPUTS = {
    "exp": np.r_[RNG.uniform(-750, 750, 500_000), RNG.uniform(-1, 1, 500_000),
                 0.0, -0.0, 709.78, 709.79, -745.13, -745.14, -708.4, -708.39, math.nan, math.inf, -math.inf],
    "log": np.r_[RNG.random(500_000), np.exp(RNG.uniform(-740, 700, 500_000)),
                 0.0, -0.0, -1.0, 5e-324, 2.2e-308, 1.0, math.nan, math.inf],
}


@numba.njit
def _apply(fn: object, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = fn(x[i])  # type: ignore[operator]
    return out


@pytest.mark.parametrize("name", ["exp", "log"])
def test_compiled_functions_give_the_numpy_bits(name: str) -> None:
    x = INPUTS[name]
    want = getattr(el, name)(x)
    got = _apply(getattr(compiled, name), x)
    differ = ~((got.view(np.uint64) == want.view(np.uint64)) | (np.isnan(got) & np.isnan(want)))
    assert not differ.any(), f"{name} differs at {x[differ][:5]}: {got[differ][:5]} vs {want[differ][:5]}"
