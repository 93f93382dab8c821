"""The deterministic limit: theta[t+1] = theta[t] + k exp((r - 1) theta[t])."""

from __future__ import annotations

import numpy as np
import pytest

from loops import simulate
from loops.suite import BenchmarkSuite
from tests.loops.conftest import compose


def recursion(k: float, r: float, cycles: int) -> np.ndarray:
    theta = np.zeros(cycles)
    with np.errstate(over="ignore"):
        for t in range(cycles - 1):
            theta[t + 1] = theta[t] + k * np.exp((r - 1) * theta[t])
    return theta


@pytest.mark.parametrize("r", [0.5, 1.0, 1.5])
def test_follows_the_recursion(r: float, suite: BenchmarkSuite) -> None:
    run = compose("+experiment=deterministic", f"loop.propose.returns={r}")
    traj = simulate(run.world(), suite, cycles=run.cycles, run_seed=run.seed, seed_indices=range(run.seeds))
    expected = recursion(run.loop.propose.rate, r, run.cycles)
    ability = traj.ability[0].astype(float)
    finite = np.isfinite(ability[:, 0])
    assert finite[0] and finite.sum() >= 40
    for d in range(ability.shape[1]):
        np.testing.assert_allclose(ability[finite, d], expected[finite], rtol=1e-6, atol=1e-7)
    for name, values in traj.arrays().items():
        assert not np.isinf(values).any(), f"{name} holds infinity"


def test_takeoff_diverges_near_the_blowup_time(suite: BenchmarkSuite) -> None:
    run = compose("+experiment=deterministic", "loop.propose.returns=1.5")
    traj = simulate(run.world(), suite, cycles=run.cycles, run_seed=run.seed, seed_indices=[0])
    t_star = 1 / (run.loop.propose.rate * (1.5 - 1))
    diverged = int(traj.diverged_cycle[0])
    assert abs(diverged - t_star) <= 0.15 * t_star, diverged
    # Exactly: the first cycle whose ability, by the recursion, is past theta_max (or infinite).
    theta = recursion(run.loop.propose.rate, 1.5, run.cycles)
    expected = int(np.flatnonzero(~(theta <= run.instance.theta_max))[0])
    assert diverged == expected == 44, (diverged, expected)
    assert np.isnan(traj.ability[0, diverged:]).all() and np.isfinite(traj.ability[0, :diverged]).all()
    assert np.isnan(traj.instances[0, diverged:]).all()


@pytest.mark.parametrize("r", [0.5, 1.0])
def test_no_divergence_without_increasing_returns(r: float, suite: BenchmarkSuite) -> None:
    run = compose("+experiment=deterministic", f"loop.propose.returns={r}")
    traj = simulate(run.world(), suite, cycles=run.cycles, run_seed=run.seed, seed_indices=[0])
    assert traj.diverged_cycle[0] == -1
    assert np.isfinite(traj.ability).all()
