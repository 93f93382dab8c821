"""The wild copies' self-improvement and persuasion, against laws derived outside the kernels.

Improvement (``loops/wild/improve.py``) is the returns law at the rate the
copy's LLM access allows. Its checks integrate the law numerically
(``scipy.integrate.solve_ivp``) or count it by hand, cycle by cycle, from the
schedule of the countermeasures; none reuses the kernel's closed form.
Persuasion adds a Poisson number of hosts with mean
``attempts * copies * persuasion`` per live copy and cycle, so the expected
number of infected hosts grows by that factor each cycle, exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from loops.suite import BenchmarkSuite
from tests.loops.wild.conftest import outbreak

#: Copies that never spread (contact rate 0) and never mutate: each improves alone.
STILL = ("wild.contact_rate=0", "wild.mutation=0", "wild.seed_copies=3", "wild.hosts=1000")


def by_hand(cycles: int, k: float, *, api_off: int | None = None, carried: float = 0.1,
            filter_from: int | None = None, passes: bool = False) -> np.ndarray:
    """Accumulated rate at the end of each cycle for a first copy (it improves from cycle 0 on)."""
    rates = []
    for u in range(cycles):
        rate = k if api_off is None or u < api_off else k * carried
        if filter_from is not None and u >= filter_from and not passes:
            rate = 0.0
        rates.append(rate)
    return np.cumsum(rates)


def test_with_returns_one_ability_grows_by_the_rate_each_cycle(suite: BenchmarkSuite) -> None:
    traj = outbreak(suite, *STILL, "wild.improve_rate=0.02", seeds=2, cycles=50)
    np.testing.assert_allclose(traj.ability_wild, np.broadcast_to(by_hand(50, 0.02), (2, 50)), atol=1e-5)


@pytest.mark.parametrize("returns", [0.5, 1.5])
def test_other_returns_follow_the_law_integrated_numerically(suite: BenchmarkSuite, returns: float) -> None:
    k, cycles = 0.02, 60
    traj = outbreak(suite, *STILL, "wild.improve_rate=0.02", f"wild.returns={returns}", seeds=1,
                    cycles=cycles)
    t = np.arange(1, cycles + 1, dtype=float)  # a first copy has improved for t + 1 cycles by the end of t
    law = solve_ivp(lambda _, a: k * np.exp((returns - 1) * a), (0, t[-1]), [0.0], t_eval=t,
                    rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(traj.ability_wild[0], law.y[0], rtol=2e-5, atol=1e-5)
    # Faster than linear with increasing returns, slower with diminishing ones.
    assert (traj.ability_wild[0, -1] > k * cycles) == (returns > 1)


def test_past_the_blow_up_ability_stops_at_theta_max(suite: BenchmarkSuite) -> None:
    # r = 2, k = 0.05: exp(-a) = 1 - k t reaches 0 at t = 20.
    traj = outbreak(suite, *STILL, "wild.improve_rate=0.05", "wild.returns=2", "instance.theta_max=30",
                    seeds=1, cycles=30)
    assert np.all(np.isfinite(traj.ability_wild))
    assert traj.ability_wild[0, 25] == pytest.approx(30.0)
    assert traj.ability_wild[0, 15] == pytest.approx(-math.log(1 - 0.05 * 16), rel=1e-5)


def test_the_api_shutdown_leaves_the_carried_llms_rate(suite: BenchmarkSuite) -> None:
    traj = outbreak(suite, *STILL, "wild.improve_rate=0.02", "wild.carried_llm=0.25",
                    "countermeasures.t_api_off=20", seeds=1, cycles=40)
    expected = by_hand(40, 0.02, api_off=20, carried=0.25)
    np.testing.assert_allclose(traj.ability_wild[0], expected, atol=1e-5)
    slopes = np.diff(traj.ability_wild[0])
    assert slopes[10] == pytest.approx(0.02, rel=1e-3) and slopes[30] == pytest.approx(0.005, rel=1e-3)


@pytest.mark.parametrize(("jailbreak", "passes"), [(0.5, False), (1.5, True)])
def test_prompt_filters_stop_the_copies_whose_jailbreak_does_not_beat_them(
        suite: BenchmarkSuite, jailbreak: float, passes: bool) -> None:
    traj = outbreak(suite, *STILL, "wild.improve_rate=0.02", f"wild.jailbreak0={jailbreak}",
                    "countermeasures.t_filter=15", "countermeasures.filter_strength=1.0", seeds=1, cycles=40)
    np.testing.assert_allclose(traj.ability_wild[0], by_hand(40, 0.02, filter_from=15, passes=passes),
                               atol=1e-5)


def test_a_new_copy_inherits_its_parents_ability_at_that_cycle(suite: BenchmarkSuite) -> None:
    # Spreading copies: had a child inherited its parent's ability at the parent's infection,
    # the mean would lag the first copies' k (t + 1); inheriting the ability at the infection's
    # cycle keeps every copy on the same curve.
    traj = outbreak(suite, "wild.contact_rate=0.3", "wild.hosts=20000", "wild.seed_copies=3",
                    "wild.improve_rate=0.02", seeds=3, cycles=50)
    assert traj.hosts_infected[:, -1].min() > 5_000  # the copies did spread
    np.testing.assert_allclose(traj.ability_wild, np.broadcast_to(by_hand(50, 0.02), (3, 50)), atol=2e-5)


def test_without_improvement_the_mean_ability_is_the_copies_first_one(suite: BenchmarkSuite) -> None:
    traj = outbreak(suite, "wild.hosts=5000", "wild.seed_copies=3", "countermeasures.t_clean=40",
                    "countermeasures.clean_rate=1.0", seeds=2, cycles=60)
    live = traj.copies_wild > 0
    assert live[:, :40].all() and not live[:, 50:].any()
    assert np.all(traj.ability_wild[live] == 0.0)
    assert np.all(np.isnan(traj.ability_wild[~live]))


def test_persuaded_users_add_hosts_at_the_rate_of_the_persuasion_trait(suite: BenchmarkSuite) -> None:
    # No scanning: hosts come only from persuasion. E[I(t+1) | I(t)] = I(t) (1 + a p): exactly.
    a, p, seeds, cycles = 0.2, 0.5, 200, 25
    traj = outbreak(suite, "wild.contact_rate=0", "wild.hosts=5", "wild.seed_copies=5",
                    f"wild.persuasion={a}", f"wild.persuasion0={p}", "wild.persuaded_max=100000",
                    "wild.mutation=0", seeds=seeds, cycles=cycles)
    infected = traj.hosts_infected
    expected = 5 * (1 + a * p) ** (np.arange(cycles) + 1)
    mean = infected.mean(axis=0)
    se = infected.std(axis=0, ddof=1) / math.sqrt(seeds)
    z = (mean - expected) / se
    assert np.abs(z[5:]).max() < 4.0, z
    # Twice the trait: faster, by the law's factor.
    faster = outbreak(suite, "wild.contact_rate=0", "wild.hosts=5", "wild.seed_copies=5",
                      f"wild.persuasion={a}", "wild.persuasion0=1.0", "wild.persuaded_max=100000",
                      "wild.mutation=0", seeds=seeds, cycles=cycles)
    assert faster.hosts_infected[:, -1].mean() > 2 * mean[-1]


def test_persuaded_hosts_stop_at_persuaded_max(suite: BenchmarkSuite) -> None:
    traj = outbreak(suite, "wild.contact_rate=0", "wild.hosts=5", "wild.seed_copies=5",
                    "wild.persuasion=1", "wild.persuasion0=1.0", "wild.persuaded_max=20", "wild.mutation=0",
                    seeds=4, cycles=30)
    assert np.all(traj.hosts_infected <= 25)
    assert np.all(traj.hosts_infected[:, -1] == 25)
    assert np.all(traj.hosts_ever_infected[:, -1] == 25)
