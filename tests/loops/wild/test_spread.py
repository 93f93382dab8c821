"""Spread against its laws: SI growth at ln(1 + beta), the mean-field recursion, congestion.

The process (``loops/wild/spread.py``) has an exact mean-field recursion
(``loops.wild.meanfield``). Each seed's random start shifts its curve in time,
so the growth rate is fitted per seed, and the curves are compared from the
cycle each seed passes 1% infected, each against the recursion started from
its own value there.
"""

from __future__ import annotations

import math

import numpy as np

from loops.suite import BenchmarkSuite
from loops.wild.meanfield import recursion
from tests.loops.wild.conftest import outbreak

N = 100_000
SI = ("wild.hosts=100000", "wild.seed_copies=5", "wild.mutation=0", "wild.congestion=0",
      "wild.host_capacity=1")


def logistic_rate(infected: np.ndarray, lo: float = 0.001, hi: float = 0.5) -> float:
    """Least-squares slope of logit(I/N) over the cycles with lo < I/N < hi."""
    x = infected / N
    keep = (x > lo) & (x < hi)
    t = np.flatnonzero(keep)
    return float(np.polyfit(t, np.log(x[keep] / (1 - x[keep])), 1)[0])


def aligned_gap(traj_infected: np.ndarray, steps: int, **law: float) -> tuple[np.ndarray, np.ndarray]:
    """Per step after each seed passes 1%: mean (simulated - recursion) / N and its standard error."""
    gaps = []
    for curve in traj_infected:
        t0 = int(np.argmax(curve > 0.01 * N))
        assert curve[t0] > 0.01 * N and t0 + steps < curve.size, "a seed never passed 1% in time"
        model = recursion(curve[t0], N, steps, **law)
        gaps.append((curve[t0: t0 + steps + 1] - model) / N)
    g = np.asarray(gaps)
    return g.mean(axis=0), g.std(axis=0, ddof=1) / math.sqrt(len(g))


def test_si_growth_rate_is_ln_one_plus_beta_and_follows_the_recursion(suite: BenchmarkSuite) -> None:
    beta = 0.3
    traj = outbreak(suite, *SI, f"wild.contact_rate={beta}", seeds=24, cycles=90)
    infected = traj.hosts_infected.astype(np.float64)
    rates = [logistic_rate(curve) for curve in infected]
    want = math.log(1 + beta)
    assert abs(np.mean(rates) / want - 1) < 0.05, f"fitted rate {np.mean(rates):.4f} vs ln(1+beta) {want:.4f}"
    gap, se = aligned_gap(infected, 40, beta=beta)
    worst = np.max(np.abs(gap) / np.maximum(se, 1e-6))
    assert worst < 3, f"mean curve leaves the recursion by {worst:.1f} standard errors"
    assert (np.diff(infected, axis=1) >= 0).all(), "without cleaning the infected hosts never decrease"
    assert (infected[:, -1] > 0.999 * N).all(), "SI must end with (almost) every host infected"


def test_congestion_bends_growth_and_matches_its_recursion(suite: BenchmarkSuite) -> None:
    beta, eta = 0.5, 2.0
    traj = outbreak(suite, *SI, f"wild.contact_rate={beta}", f"wild.congestion={eta}", seeds=24, cycles=90)
    infected = traj.hosts_infected.astype(np.float64)
    gap, se = aligned_gap(infected, 40, beta=beta, eta=eta)
    worst = np.max(np.abs(gap) / np.maximum(se, 1e-6))
    assert worst < 3, f"congested mean curve leaves beta (1 - I/N)^eta's recursion by {worst:.1f} SE"
    # It bends over before the susceptible hosts run out: at 30% infected the
    # per-cycle growth is well below the uncongested process's.
    for curve in infected:
        t = int(np.argmax(curve > 0.3 * N))
        grown = curve[t + 1] / curve[t]
        free = recursion(curve[t], N, 1, beta=beta)[1] / curve[t]
        assert grown < 1 + 0.75 * (free - 1), f"growth {grown:.3f} not bent (uncongested {free:.3f})"
