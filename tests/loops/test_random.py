"""Counter-based draws: a function of their coordinates, nothing else."""

from __future__ import annotations

import numpy as np
from scipy import stats

from loops.random import ZIGGURAT_R, ZIGGURAT_V, ZIGGURAT_X, ZIGGURAT_Y, Streams, mix, normal_from_bits


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


def test_one_normal_uses_one_draw() -> None:
    draws = Streams(3, range(4)).stage(cycle=2, stage=1, n_slots=8)
    np.testing.assert_array_equal(draws.normals(3, 2)[..., 1], draws.normal(4))
    np.testing.assert_array_equal(draws.normal(4), normal_from_bits(draws.bits(4)))


def test_ziggurat_layers_have_equal_area() -> None:
    x, y = ZIGGURAT_X, ZIGGURAT_Y
    assert x[1] == ZIGGURAT_R and x[256] == 0.0 and np.all(np.diff(x) < 0)
    assert np.all(np.diff(y[1:]) > 0) and y[256] == 1.0
    areas = x[1:256] * (y[2:257] - y[1:256])  # the layers above the base strip
    np.testing.assert_allclose(areas, ZIGGURAT_V, rtol=1e-9)
    # Checks that do not follow from how the tables were built: the layer corners lie on
    # the normal density exp(-x^2/2), and the common area V is the base strip's, its
    # rectangle plus the tail beyond R as scipy integrates it.
    np.testing.assert_allclose(y[1:257], np.exp(-(x[1:257] ** 2) / 2), rtol=0, atol=1e-15)
    f_r = np.exp(-ZIGGURAT_R**2 / 2)
    tail = np.sqrt(2 * np.pi) * stats.norm.sf(ZIGGURAT_R)
    np.testing.assert_allclose(ZIGGURAT_V, ZIGGURAT_R * f_r + tail, rtol=1e-9)
    np.testing.assert_allclose(x[0], ZIGGURAT_V / f_r, rtol=1e-12)


def test_ziggurat_normals_follow_the_normal_distribution() -> None:
    n = 2_000_000
    bits = mix(np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(77))
    z = normal_from_bits(bits)
    edges = np.r_[-np.inf, np.linspace(-4.5, 4.5, 91), np.inf]
    observed = np.histogram(z, edges)[0]
    expected = np.diff(stats.norm.cdf(edges)) * n
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert stats.chi2.sf(chi2, len(expected) - 1) > 1e-4, f"chi2 {chi2:.0f} on {len(expected) - 1} bins"
    # The tail beyond R takes its own path (Marsaglia's tail method): check its mass.
    beyond = int((np.abs(z) > ZIGGURAT_R).sum())
    mean = 2 * stats.norm.sf(ZIGGURAT_R) * n
    assert abs(beyond - mean) < 5 * np.sqrt(mean), (beyond, mean)
    assert int((np.abs(z) > 4.5).sum()) >= 5, "the far tail is reachable (about 14 expected beyond 4.5)"
    assert abs(stats.skew(z)) < 0.01 and abs(stats.kurtosis(z)) < 0.02
