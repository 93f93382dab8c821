"""Counter-based draws: a function of their coordinates, nothing else."""

from __future__ import annotations

import numpy as np
from scipy import stats

from loops.random import Streams


def test_draws_do_not_depend_on_the_batch() -> None:
    batch = Streams(7, range(10)).stage(cycle=4, stage=3, n_slots=16)
    alone = Streams(7, [6]).stage(cycle=4, stage=3, n_slots=16)
    np.testing.assert_array_equal(batch.uniform(5)[6], alone.uniform(5)[0])
    np.testing.assert_array_equal(batch.normal(8)[6], alone.normal(8)[0])


def test_draws_do_not_depend_on_the_number_of_slots() -> None:
    small = Streams(7, range(3)).stage(cycle=4, stage=3, n_slots=4)
    large = Streams(7, range(3)).stage(cycle=4, stage=3, n_slots=64)
    np.testing.assert_array_equal(small.uniform(2), large.uniform(2)[:, :4])


def test_point_draws_equal_the_full_draws() -> None:
    draws = Streams(1, range(5)).stage(cycle=9, stage=6, n_slots=32)
    seed, slot = np.array([0, 3, 4, 4]), np.array([1, 31, 0, 7])
    np.testing.assert_array_equal(draws.uniform_at(2, seed, slot), draws.uniform(2)[seed, slot])
    np.testing.assert_array_equal(draws.normal_at(4, seed, slot), draws.normal(4)[seed, slot])


def test_different_coordinates_give_independent_uniforms() -> None:
    streams = Streams(0, range(64))
    a = streams.stage(cycle=1, stage=2, n_slots=256).uniform(0).ravel()
    b = streams.stage(cycle=2, stage=2, n_slots=256).uniform(0).ravel()
    assert stats.kstest(a, "uniform").pvalue > 1e-4
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.02
    z = streams.stage(cycle=1, stage=5, n_slots=256).normal(0).ravel()
    assert stats.kstest(z, "norm").pvalue > 1e-4
