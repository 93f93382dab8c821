"""The plateau rule (issue 17, DESIGN section 3): a ceiling is a plateau, sustained slow growth is not.

A trend test alone calls any noise-free slope significant, so every saturating
curve used to come out an ``apparent_plateau``. The rule now judges a flat
trailing window by effect size against a minimum effect in ``ln C``.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.growth import MIN_EFFECT, classify
from analysis.world import analyse_worlds
from tests.analysis.golden import logistic
from tests.analysis.test_world import run_of

T = np.arange(300.0)
TAIL_SLOPE = 1e-3  # below the 2e-3 growth threshold: both curves look flat


@pytest.mark.parametrize("a", [0.02, 0.05, 0.1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("noise", [0.0, 0.01, 0.03])
def test_logistic_curves_are_plateaus(a: float, dtype: type, noise: float) -> None:
    for seed in range(3 if noise else 1):
        reg = classify(*logistic(a, dtype, noise, seed))
        assert reg.regime == "plateau", (a, dtype, noise, seed, reg)


def slow_linear(noise: float, seed: int) -> np.ndarray:
    return TAIL_SLOPE * T + np.random.default_rng(seed).normal(0, noise, T.size)


def slowly_accelerating(noise: float, seed: int) -> np.ndarray:
    # c t^2 whose least-squares slope over the last quarter (t in [225, 299]) is TAIL_SLOPE.
    c = TAIL_SLOPE / (225.0 + 299.0)
    return c * T**2 + np.random.default_rng(seed).normal(0, noise, T.size)


@pytest.mark.parametrize("curve", [slow_linear, slowly_accelerating])
@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_sustained_slow_growth_is_an_apparent_plateau(curve, noise: float) -> None:  # type: ignore[no-untyped-def]
    for seed in range(3 if noise else 1):
        reg = classify(T, curve(noise, seed))
        assert reg.regime == "apparent_plateau", (curve.__name__, noise, seed, reg)
        assert reg.tail_growth == pytest.approx(TAIL_SLOPE, rel=0.1)


def test_minimum_effect_decides() -> None:
    """The same slow line is a plateau when one more window's growth (0.074) is below the minimum."""
    y = slow_linear(0.0, 0)
    assert classify(T, y).extrapolated_gain == pytest.approx(TAIL_SLOPE * 74)
    assert classify(T, y, min_effect=0.05).regime == "apparent_plateau"
    assert classify(T, y, min_effect=0.1).regime == "plateau"
    assert MIN_EFFECT < 0.074


def test_hard_plateau_is_a_plateau_and_no_growth_is_no_apparent_plateau() -> None:
    rng = np.random.default_rng(7)
    flat = 1.5 + rng.normal(0, 0.05, T.size)
    assert classify(T, flat).regime == "plateau"


@pytest.mark.slow
def test_story_score_over_rising_ability_is_an_apparent_plateau() -> None:
    ds, config = run_of("+experiment=story", seeds=8)
    worlds = analyse_worlds(ds, config)
    score, regime = worlds["score_regime"].values, worlds["regime"].values
    # The score looks flat while ability keeps rising: no world's ability plateaus.
    assert not (regime == "plateau").any(), regime
    # Every world whose held-out score is still measured at the end: an apparent plateau.
    measured = np.isfinite(ds["score"].isel(cycle=slice(-20, None)).mean("domain")).all("cycle").values
    assert measured.sum() >= 6, measured
    assert (score[measured] == "apparent_plateau").all(), score
    # With a minimum effect above the score's growth the same worlds are plateaus.
    strict = analyse_worlds(ds, config, min_effect=0.2)
    assert (strict["score_regime"].values[measured] == "plateau").all(), strict["score_regime"].values
