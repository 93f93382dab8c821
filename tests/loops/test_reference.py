"""The vectorised kernel and the per-instance reference agree in distribution.

Two kinds of comparison, each one combined statistic with a permutation
p-value (``tests/loops/twosample.py``), failing below ``ALPHA``; both
simulations are seeded, so every test is deterministic.

- **Probes** (``tests/loops/power.py``): small worlds where a few mechanisms act
  plainly, compared by the largest Welch t over per-world summaries (location,
  dispersion and finite fraction of every recorded variable, event totals, the
  first guard bypass). These carry the power.
- **Broad configs** (``CONFIGS``): the story's mechanisms together, compared by
  the largest Kolmogorov-Smirnov distance over every recorded variable at eight
  cycles (NaN sorted below every number, so the finite fraction counts too).
  They see a change in how mechanisms combine; alone they would miss most of
  the changes below (power 0 to 0.5 for all but ``rho``).

Power (``make power``: the kernel against the kernel with one parameter changed,
each probe's worlds, 20 comparisons with fresh seeds, ALPHA = 0.01; a bug that
makes the kernel simulate that change is caught as often). Measured 2026-11-26:

=========  ======  ====  =========  =========  =========  ====  ========  ========  =========
probe      worlds  none  rate       rate       sigma      rho   mutation  patience  fix_max
                         x1.10      x1.25      x1.5       x1.25 x2        +5        x1.3
=========  ======  ====  =========  =========  =========  ====  ========  ========  =========
growth     300     0.00  **1.00**   **1.00**   **1.00**   0.00  0.00      0.00      0.00
stuck      300     0.00  0.00       0.00       0.00       0.00  0.00      **1.00**  0.00
bypass     500     0.00  0.00       0.00       0.00       **1.00** **1.00** 0.00    **1.00**
=========  ======  ====  =========  =========  =========  ====  ========  ========  =========

Every listed change is caught with power 1.00 (at least 0.95 asked) by its probe
(bold), and the unchanged kernel is never rejected (size 0.00 of 20).
``test_each_probe_tells_its_changes_apart`` repeats one comparison of each bold
cell on every run of the suite.
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
from tests.loops.power import ALPHA, PROBES, TARGETS, rejections
from tests.loops.twosample import feature_names, features, max_ks, max_t, summaries

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
@pytest.mark.parametrize("probe", list(PROBES))
def test_probe_agrees_with_the_reference(probe: str, suite: BenchmarkSuite) -> None:
    overrides, worlds = PROBES[probe]
    run = compose(*overrides)
    seeds = range(worlds)
    kernel = simulate(run.world(), suite, run_seed=0, cycles=run.cycles, seed_indices=seeds)
    reference = simulate_reference(run.world(), suite, run_seed=1, cycles=run.cycles, seed_indices=seeds)
    (ours, names), (theirs, _) = summaries(kernel), summaries(reference)
    stat, p, worst = max_t(ours, theirs)
    family = ("", "dispersion of ", "finite share of ")[worst // len(names)]
    assert p > ALPHA, f"{probe}: Welch t {stat:.2f} on {family}{names[worst % len(names)]}, p = {p:.4f}"


@pytest.mark.parametrize("probe", list(PROBES))
def test_each_probe_tells_its_changes_apart(probe: str, suite: BenchmarkSuite) -> None:
    """The power table's bold cells, one comparison each: the probe fails on a kernel that changed."""
    overrides, worlds = PROBES[probe]
    run = compose(*overrides)
    assert rejections(run, worlds, "none", suite, reps=1) == 0
    for change in TARGETS[probe]:
        assert rejections(run, worlds, change, suite, reps=1) == 1, f"{probe} misses {change}"


@pytest.mark.slow
def test_time_to_guard_bypass_agrees(suite: BenchmarkSuite) -> None:
    kernel, reference = both("story-small", suite)
    a, b = bypass_times(kernel), bypass_times(reference)
    assert (a <= kernel.cycle[-1]).mean() > 0.3, "too few bypasses to compare"
    result = stats.ks_2samp(a, b)
    assert result.pvalue > 0.001, (result, np.mean(a), np.mean(b))
