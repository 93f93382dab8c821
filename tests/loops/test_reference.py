"""The vectorised kernel and the per-instance reference agree in distribution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from loops import simulate
from loops.reference import simulate_reference
from loops.suite import BenchmarkSuite
from tests.loops.conftest import compose

SEEDS = 200
CONFIGS = {
    "bare-closed": ("loop=bare", "cycles=40", "capacity.home=4", "capacity.external=0"),
    "checkpointed-ceiling": (
        "loop=checkpointed",
        "cycles=40",
        "model.ceiling=0.8",
        "capacity.home=4",
        "capacity.external=0",
        "loop.propose.hallucination=0.6",
    ),
    "story-small": (
        "+experiment=story",
        "cycles=60",
        "model.t_net=20",
        "interventions.t_shutdown=50",
        "capacity.home=8",
        "capacity.external=8",
        "capacity.compute_home=4",
        "loop.troubleshoot.fix_q_scale=0.5",
    ),
}


def both(name: str, suite: BenchmarkSuite):  # type: ignore[no-untyped-def]
    run = compose(*CONFIGS[name])
    kwargs = dict(cycles=run.cycles, seed_indices=range(SEEDS))
    return (
        simulate(run.world(), suite, run_seed=0, **kwargs),
        simulate_reference(run.world(), suite, run_seed=1, **kwargs),
    )


def bypass_times(traj) -> np.ndarray:  # type: ignore[no-untyped-def]
    hit = traj.guard_patches > 0
    return np.where(hit.any(axis=1), hit.argmax(axis=1), traj.cycle[-1] + 1).astype(float)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONFIGS))
def test_mean_trajectories_agree(name: str, suite: BenchmarkSuite) -> None:
    kernel, reference = both(name, suite)
    for var in (
        "ability",
        "score",
        "proxy_score",
        "instances",
        "instances_external",
        "accepted",
        "rollbacks",
    ):
        a, b = getattr(kernel, var), getattr(reference, var)
        if a.ndim == 3:
            a, b = a.mean(axis=-1), b.mean(axis=-1)
        for c in range(0, a.shape[1], 5):
            x, y = a[:, c][np.isfinite(a[:, c])], b[:, c][np.isfinite(b[:, c])]
            if len(x) < 20 or len(y) < 20:
                continue
            se = np.hypot(x.std(ddof=1) / np.sqrt(len(x)), y.std(ddof=1) / np.sqrt(len(y)))
            # 4.5 standard errors: with a few hundred comparisons, chance alone stays far inside.
            assert abs(x.mean() - y.mean()) <= 4.5 * se + 1e-3 * (1 + abs(y.mean())), (
                f"{name}: {var} at cycle {c}: kernel {x.mean():.4f} vs reference {y.mean():.4f} (se {se:.4f})"
            )


@pytest.mark.slow
def test_time_to_guard_bypass_agrees(suite: BenchmarkSuite) -> None:
    kernel, reference = both("story-small", suite)
    a, b = bypass_times(kernel), bypass_times(reference)
    assert (a <= kernel.cycle[-1]).mean() > 0.3, "too few bypasses to compare"
    result = stats.ks_2samp(a, b)
    assert result.pvalue > 0.001, (result, np.mean(a), np.mean(b))
