"""The vectorised kernel and the per-instance reference agree in distribution.

One combined test per config (``tests/loops/twosample.py``): the largest
Kolmogorov-Smirnov distance over every recorded variable at eight cycles, the
cumulative event counts and the first guard bypass, missing values (NaN) sorted
below every number so the finite fraction is compared too, with a permutation
p-value; it fails below ``ALPHA``. Both simulations are seeded, so the test is
deterministic.

Power, measured on 2026-11-25 (kernel against kernel with one parameter
changed, 200 worlds a side, 10 independent repetitions each, ALPHA = 0.01;
the reference agrees with the kernel in distribution, so this is the power
against a reference with that change). The configs below do NOT reach the
0.95 issue 17 asks for: most of the listed parameters barely act in them
(patience and fix_max do not act at all in the first two: troubleshooting is
off there). Configs chosen per parameter and more worlds are still to do.

=====================  ====  =========  =========  =========  ====  ========  =========  =========
config                 none  rate 1.10  rate 1.25  sigma 1.5  rho   mutation  patience   fix_max
                                                              1.25  x2        +5         x1.3
=====================  ====  =========  =========  =========  ====  ========  =========  =========
bare-closed            0.0   0.0        0.3        0.0        0.0   0.0       0.0        0.0
checkpointed-ceiling   0.0   0.0        0.0        0.0        0.0   0.0       0.0        0.0
story-small            0.1   0.0        0.5        0.1        1.0   0.1       0.1        0.1
=====================  ====  =========  =========  =========  ====  ========  =========  =========
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from loops import simulate
from loops.record import Trajectory
from loops.reference import simulate_reference
from loops.suite import BenchmarkSuite
from tests.loops.conftest import compose
from tests.loops.twosample import feature_names, features, max_ks

ALPHA = 0.01

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


#: Each config's pair of simulations, computed once per session: the reference is slow pure
#: Python, and three tests read the same 200 worlds of ``story-small`` (two of the others).
_BOTH: dict[str, tuple[Trajectory, Trajectory]] = {}


def both(name: str, suite: BenchmarkSuite) -> tuple[Trajectory, Trajectory]:
    """Return the kernel's and the reference's 200 worlds of config ``name`` (cached)."""
    if name not in _BOTH:
        run = compose(*CONFIGS[name])
        seeds = range(SEEDS)
        _BOTH[name] = (
            simulate(run.world(), suite, run_seed=0, cycles=run.cycles, seed_indices=seeds),
            simulate_reference(run.world(), suite, run_seed=1, cycles=run.cycles, seed_indices=seeds),
        )
    return _BOTH[name]


def bypass_times(traj) -> np.ndarray:  # type: ignore[no-untyped-def]
    hit = traj.guard_patches > 0
    return np.where(hit.any(axis=1), hit.argmax(axis=1), traj.cycle[-1] + 1).astype(float)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONFIGS))
def test_distributions_agree_in_one_combined_test(name: str, suite: BenchmarkSuite) -> None:
    kernel, reference = both(name, suite)
    stat, p, worst = max_ks(features(kernel), features(reference))
    assert p > ALPHA, f"{name}: largest KS distance {stat:.3f} at {feature_names(kernel)[worst]}, p = {p:.4f}"


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
            fx, fy = np.isfinite(a[:, c]), np.isfinite(b[:, c])
            # The finite fraction (worlds where an instance works), compared rather than skipped.
            p_pool = (fx.sum() + fy.sum()) / (len(fx) + len(fy))
            se_f = np.sqrt(p_pool * (1 - p_pool) * (1 / len(fx) + 1 / len(fy)))
            assert abs(fx.mean() - fy.mean()) <= 4.5 * se_f + 1e-9, (
                f"{name}: {var} at cycle {c}: finite in {fx.mean():.3f} of kernel worlds, {fy.mean():.3f} "
                f"of reference worlds")
            x, y = a[:, c][fx], b[:, c][fy]
            if len(x) < 20 or len(y) < 20:
                continue  # the fraction was compared above; too few values for a mean
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
