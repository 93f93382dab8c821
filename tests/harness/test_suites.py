"""Synthetic benchmark suites: item banks as specified, curves the same bits on both engines."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from harness.config import TasksConfig
from harness.suites import SUITES, build_suite
from loops.random import Streams


@pytest.mark.parametrize("name", SUITES.names())
def test_curves_are_the_same_bits_on_both_engines(name: str) -> None:
    compiled = build_suite(TasksConfig(suite=name), engine="numba")
    plain = build_suite(TasksConfig(suite=name), engine="numpy")
    np.testing.assert_array_equal(compiled.curves.view(np.uint64), plain.curves.view(np.uint64))


@pytest.mark.parametrize("name", SUITES.names())
def test_curves_are_accuracies_rising_with_ability(name: str) -> None:
    suite = build_suite(TasksConfig(suite=name))
    assert suite.curves.shape == (2, 3, 8001)
    assert suite.curves.min() >= 0 and suite.curves.max() <= 1
    assert (np.diff(suite.curves, axis=-1) >= 0).all(), "accuracy falls somewhere as ability rises"
    low, high = suite.accuracy(np.full(3, -5.0), 1), suite.accuracy(np.full(3, 30.0), 1)
    assert (low < 0.05).all() and (high > 0.95).all(), (low, high)
    other = build_suite(TasksConfig(suite=name, seed=99))
    assert not np.array_equal(suite.curves, other.curves), "the suite's seed changes nothing"


def test_saturating_bank_is_normal_difficulty_and_log_normal_discrimination() -> None:
    n = 20_000
    difficulty, discrimination = SUITES.get("saturating")(Streams(5, [0]).stage(0, 0, n), n)
    assert stats.kstest(difficulty, stats.norm(0.5, 1.0).cdf).pvalue > 1e-3
    assert stats.kstest(np.log(discrimination), stats.norm(0.3, 0.3).cdf).pvalue > 1e-3


def test_heavy_tail_bank_has_a_pareto_tail() -> None:
    n = 20_000
    difficulty, discrimination = SUITES.get("heavy_tail")(Streams(5, [0]).stage(0, 0, n), n)
    cap = (55.0 + 1.0) / 2.0  # the grid caps difficulty at 55
    lomax = (difficulty[difficulty < 55.0] + 1.0) / 2.0  # undo the shift and the scale
    below_cap = stats.lomax(1.2).cdf(cap)
    assert stats.kstest(lomax, lambda x: stats.lomax(1.2).cdf(x) / below_cap).pvalue > 1e-3
    assert abs((difficulty >= 55.0).mean() - (1 - below_cap)) < 0.005
    assert stats.kstest(np.log(discrimination), stats.norm(0.0, 0.3).cdf).pvalue > 1e-3
    saturating = build_suite(TasksConfig(suite="saturating")).accuracy(np.full(3, 4.0), 1)
    heavy = build_suite(TasksConfig(suite="heavy_tail")).accuracy(np.full(3, 4.0), 1)
    assert (heavy < 0.9).all() and (saturating > 0.95).all(), "only the heavy tail keeps items out of reach"
