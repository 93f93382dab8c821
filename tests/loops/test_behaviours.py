"""Behaviours of the model that had no test (issue 17): gaming and the Goodhart gap."""

from __future__ import annotations

import numpy as np
import pytest

from loops import simulate
from loops.suite import BenchmarkSuite
from tests.loops.conftest import compose


def goodhart_gap(gaming: float, evaluate: bool, suite: BenchmarkSuite) -> float:
    """Return the mean proxy-minus-held-out score over the last 20 cycles of 32 worlds."""
    run = compose("loop=bare", "cycles=80", "seeds=32", "capacity.home=4", "capacity.external=0",
                  f"loop.propose.gaming={gaming}", f"loop.evaluate.enabled={str(evaluate).lower()}")
    traj = simulate(run.world(), suite, cycles=run.cycles, run_seed=3, seed_indices=range(run.seeds))
    return float(np.nanmean(traj.proxy_score[:, -20:] - traj.score[:, -20:]))


@pytest.mark.parametrize("evaluate", [False, True])
def test_gaming_raises_only_the_proxy_score(evaluate: bool, suite: BenchmarkSuite) -> None:
    gaps = [goodhart_gap(g, evaluate, suite) for g in (0.0, 0.3, 0.6)]
    # Without gaming the proxy and held-out halves of the bank differ only by the split.
    # (measured: 0.017 without an evaluator, 0.018 with one)
    assert abs(gaps[0]) < 0.03, gaps
    # The gap grows with gaming (0.072, 0.130; with the evaluator 0.056, 0.093): an
    # evaluator that sees only proxy items cannot remove it.
    assert gaps[0] + 0.025 < gaps[1] < gaps[2] - 0.02, gaps
