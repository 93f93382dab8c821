"""Portable exp and log: accurate, and the same bits as scalars and as arrays."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from loops import elementary as el

RNG = np.random.default_rng(2026)
SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e-300, 5e-324, 709.78, 709.79, -745.13, -745.14, -746.0, 1e308,
           math.nan, math.inf, -math.inf]


def ulps(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got - want) / np.spacing(np.abs(want))))


@pytest.mark.parametrize("lo, hi", [(-1.0, 1.0), (-30.0, 30.0), (-700.0, 700.0)])
def test_exp_is_within_one_ulp_of_the_c_library(lo: float, hi: float) -> None:
    x = RNG.uniform(lo, hi, 100_000)
    assert ulps(el.exp(x), np.array([math.exp(v) for v in x])) <= 1.0


@pytest.mark.parametrize("x", [RNG.random(100_000), np.exp(RNG.uniform(-700, 700, 100_000)),
                               RNG.uniform(0.9, 1.1, 100_000)])
def test_log_is_within_two_ulps_of_the_c_library(x: np.ndarray) -> None:
    assert ulps(el.log(x), np.array([math.log(v) for v in x])) <= 2.0


def test_special_values() -> None:
    np.testing.assert_array_equal(el.exp([0.0, 710.0, -746.0, math.inf, -math.inf]),
                                  [1.0, math.inf, 0.0, math.inf, 0.0])
    assert math.isnan(float(el.exp(math.nan)))
    assert 0.0 < float(el.exp(-745.0)) < 1e-320, "subnormal results are kept"
    np.testing.assert_array_equal(el.log([0.0, 1.0, math.inf]), [-math.inf, 0.0, math.inf])
    assert np.isnan(el.log([-1.0, math.nan])).all()


@pytest.mark.parametrize("name", ["exp", "log"])
def test_scalar_versions_give_the_array_bits(name: str) -> None:
    array, scalar = getattr(el, name), getattr(el, f"{name}_scalar")
    x = np.concatenate([RNG.uniform(-750, 750, 3000), np.exp(RNG.uniform(-740, 700, 3000)), SPECIAL])
    want = array(x)
    got = np.array([scalar(float(v)) for v in x])
    np.testing.assert_array_equal(got.view(np.uint64)[~np.isnan(want)], want.view(np.uint64)[~np.isnan(want)])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def test_the_split_of_ln2_makes_the_reduction_exact() -> None:
    # exp reduces x by k * ln2/64 with |k| < 2**17 and log by e * ln2 with |e| < 2**11:
    # the high parts must multiply those exactly.
    for hi, k_max in ((el.LN2_64_HI, 2**17), (el.LN2_HI, 2**11)):
        ks = np.unique(np.r_[np.arange(-k_max + 1, k_max, 997), k_max - 1, 1 - k_max])
        assert all(Fraction(int(k)) * Fraction(hi) == Fraction(float(k) * hi) for k in ks)
    assert el.LN2_64_HI + el.LN2_64_LO == pytest.approx(math.log(2) / 64, rel=1e-16)
    assert el.LN2_HI + el.LN2_LO == pytest.approx(math.log(2), rel=1e-16)
    np.testing.assert_allclose(el.EXP2_TABLE, 2.0 ** (np.arange(64) / 64), rtol=2e-16)
