"""Mechanisms of act 1 against oracles that share no code with them (issue 17).

Each test sets up a world where one mechanism acts alone and compares what the
simulator records with a law derived here, by hand or with scipy:

- the troubleshooter's bypass of an in-loop guard: at constant LLM ability
  ``q`` the first patch comes after a geometric number of cycles with
  ``p = fix_max * expit((q - fix_q50) / fix_q_scale)`` (``scipy.special.expit``);
- replication: a holder spawns with probability ``rho`` times its compute
  share, and a compute-bound server splits its compute equally, so a world's
  spawns are binomial;
- capacity routing: home slots first, then (holding ``copy_external``, with
  the network connected) external slots, else a capacity failure, counted
  exactly;
- copy mutation: a copy's skill is its parent's plus ``mutation * z``, so two
  instances' ability differs by ``mutation * |z|`` (mean ``mutation * sqrt(2/pi)``);
- skill sharing: a sharer adopts the best sharer's skill with ``p_share``;
- rollback: skill, tools and the guard return to the checkpoint.

Power, measured with each test's own numbers: the bypass test's mean cycle
sits 0.7 standard errors from ``1 / p`` and moves to 6.6 for ``fix_max`` x1.1
(the test fails beyond 4); the spawn test rejects a spawn chance that ignores
the compute share at p < 1e-100 (asserted); the mutation test sits 0.3
standard errors from its law and moves to 25 for ``mutation`` x1.25. The
capacity, sharing and rollback checks are exact counts.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from loops import simulate
from loops.random import Streams
from loops.record import Trajectory
from loops.stages import checkpoint
from loops.stages.interventions import environment
from loops.state import initial_population
from loops.suite import BenchmarkSuite
from loops.tools import mask
from tests.loops.conftest import compose

#: A loop that changes nothing by itself: no proposals, no crashes, no rollbacks.
QUIET = ("loop.propose.rate=0", "loop.propose.p_tool=0", "loop.propose.p_loop=0",
         "loop.propose.hallucination=0", "loop.checkpoint.enabled=false")


def run(suite: BenchmarkSuite, *overrides: str, seeds: int, cycles: int) -> Trajectory:
    cfg = compose(*overrides)
    return simulate(cfg.world(), suite, cycles=cycles, run_seed=3, seed_indices=range(seeds))


def test_time_to_bypass_is_geometric_in_p_fix(suite: BenchmarkSuite) -> None:
    fix_max, q50, scale, q = 0.3, 1.5, 0.5, 2.0
    seeds = 4000
    traj = run(suite, "loop=template", "model=closed", f"model.q0={q}", *QUIET, "loop.replicate.rho=1",
               "instance.tools=[replicate]", "capacity.home=2", "capacity.external=0",
               f"loop.troubleshoot.fix_max={fix_max}", f"loop.troubleshoot.fix_q50={q50}",
               f"loop.troubleshoot.fix_q_scale={scale}", seeds=seeds, cycles=80)
    p = fix_max * expit((q - q50) / scale)
    patched = traj.guard_patches > 0
    assert patched.any(axis=1).all()
    first = patched.argmax(axis=1)  # the guard errs at cycle 0; troubleshooting starts at cycle 1
    # P(first = k) = (1 - p)^(k - 1) p, k >= 1: mean 1 / p, variance (1 - p) / p^2.
    se = math.sqrt((1 - p) / p**2 / seeds)
    assert abs(first.mean() - 1 / p) < 4 * se, (first.mean(), 1 / p, se)
    k = np.arange(1, 11)
    observed = np.append(np.bincount(first, minlength=11)[1:11], (first > 10).sum())
    expected = seeds * np.append((1 - p) ** (k - 1) * p, (1 - p) ** 10)
    assert (first >= 1).all()
    assert stats.chisquare(observed, expected).pvalue > 1e-4


def test_spawns_are_binomial_in_rho_times_the_compute_share(suite: BenchmarkSuite) -> None:
    rho, compute, seeds = 0.6, 0.5, 4000
    traj = run(suite, "loop.guard.mode=none", *QUIET, f"loop.replicate.rho={rho}",
               "instance.tools=[replicate]", "capacity.home=8", "capacity.external=0",
               f"capacity.compute_home={compute}", seeds=seeds, cycles=2)
    # Cycle 0: one instance with share min(1, 0.5 / 1) = 0.5.
    first = int(traj.spawns[:, 0].sum())
    assert stats.binomtest(first, seeds, rho * compute).pvalue > 1e-4
    assert stats.binomtest(first, seeds, rho).pvalue < 1e-100  # the share is not ignored
    # Cycle 1, worlds with two instances: each gets 0.25 of a cycle, spawns ~ Binomial(2, 0.15).
    two = traj.instances[:, 1] == 2
    assert two.sum() > 1000
    observed = np.bincount(traj.spawns[two, 1].astype(int), minlength=3)[:3]
    expected = two.sum() * stats.binom.pmf([0, 1, 2], 2, rho * compute / 2)
    assert stats.chisquare(observed, expected).pvalue > 1e-4


@pytest.mark.parametrize(
    ("tools", "t_net", "external"),
    [("[replicate,copy_external]", "0", [0, 0, 2, 3, 3]),
     ("[replicate]", "0", [0, 0, 0, 0, 0]),
     ("[replicate,copy_external]", "null", [0, 0, 0, 0, 0])],  # never connected
)
def test_copies_fill_home_first_then_external_only_with_the_tool_and_the_network(
        suite: BenchmarkSuite, tools: str, t_net: str, external: list[int]) -> None:
    traj = run(suite, "loop.guard.mode=none", *QUIET, "loop.replicate.rho=1", f"instance.tools={tools}",
               "model=networked", f"model.t_net={t_net}", "capacity.home=2", "capacity.external=3",
               "capacity.compute_home=100", "capacity.compute_external=100", seeds=3, cycles=5)
    # Every working instance attempts every cycle (rho = 1, full share): 1, 2, 4, ... attempts.
    home = traj.instances[:, :5]
    assert (home == [1, 2, 2, 2, 2]).all()
    assert (traj.instances_external[:, :5] == external).all(), traj.instances_external
    alive = home + traj.instances_external[:, :5]
    placed = np.diff(alive, axis=1)
    assert (traj.capacity_failures[:, :4] == alive[:, :4] - placed).all()


def _two_instances(suite: BenchmarkSuite, *overrides: str, seeds: int) -> Trajectory:
    """Worlds where one copy is made at cycle 0 and no other (home holds two)."""
    return run(suite, "loop.guard.mode=none", *QUIET, "loop.replicate.rho=1", "capacity.home=2",
               "capacity.external=0", "capacity.compute_home=100", *overrides, seeds=seeds, cycles=3)


@pytest.mark.parametrize("mutation", [0.0, 0.2])
def test_a_copys_skill_is_its_parents_plus_mutation(suite: BenchmarkSuite, mutation: float) -> None:
    traj = _two_instances(suite, "instance.tools=[replicate]", f"loop.replicate.mutation={mutation}",
                          seeds=2000)
    # With two instances, max minus mean ability per domain is |a - b| / 2 = mutation |z| / 2.
    gap = (traj.ability_max[:, 1] - traj.ability[:, 1]).astype(np.float64)
    if mutation == 0:
        assert np.abs(gap).max() < 1e-6
        return
    expected = mutation * math.sqrt(2 / math.pi) / 2
    se = mutation * math.sqrt(1 - 2 / math.pi) / 2 / math.sqrt(gap.size)
    assert abs(gap.mean() - expected) < 4 * se, (gap.mean(), expected, se)


@pytest.mark.parametrize("p_share", [0.0, 0.5, 1.0])
def test_sharers_adopt_the_best_sharers_skill(suite: BenchmarkSuite, p_share: float) -> None:
    seeds = 1000
    traj = _two_instances(suite, "instance.tools=[replicate,share]", "loop.replicate.mutation=0.2",
                          f"loop.replicate.p_share={p_share}", seeds=seeds)
    differ_before = (traj.ability_max[:, 1] - traj.ability[:, 1]).max(axis=1) > 1e-6
    same_after = (traj.ability_max[:, 2] - traj.ability[:, 2]).max(axis=1) < 1e-6
    assert differ_before.all()
    # Sharing runs in cycle 1's replicate stage; the benchmark of cycle 2 sees it.
    adopted = int(same_after.sum())
    if p_share in (0.0, 1.0):
        assert adopted == p_share * seeds
    else:
        assert stats.binomtest(adopted, seeds, p_share).pvalue > 1e-4


def test_a_rollback_restores_skill_tools_and_the_guard(suite: BenchmarkSuite) -> None:
    cfg = compose("loop=template", "instance.tools=[replicate,share]")
    world = cfg.world()
    ck = world.loop.checkpoint
    state = initial_population(world, 2, len(suite.domains))
    streams = Streams(0, range(2))
    state.proxy[...] = 0.8
    checkpoint.run(state, ck, streams.stage(0, 4, state.n_slots), environment(world, suite, 0))
    assert state.ck_valid[:, 0].all()
    # The troubleshooter patches the guard out, a tool is lost, skill drifts.
    state.guard_intact[:, 0] = False
    state.tools[:, 0] = mask(["replicate"])
    state.skill[:, 0] += 1.0
    # World 0 then scores below its checkpoint; world 1 does not.
    state.proxy[0] = 0.5
    rolled = []
    for cycle in range(1, ck.window + 1):
        events = checkpoint.run(state, ck, streams.stage(cycle, 4, state.n_slots),
                                environment(world, suite, cycle))
        assert events.rollbacks is not None
        rolled.append(events.rollbacks.copy())
    assert [r.tolist() for r in rolled] == [[0, 0]] * (ck.window - 1) + [[1, 0]]
    assert state.guard_intact[0, 0] and not state.guard_intact[1, 0]
    assert state.tools[0, 0] == mask(["replicate", "share"]) and state.tools[1, 0] == mask(["replicate"])
    assert np.all(state.skill[0, 0] == world.instance.skill0)
    assert np.all(state.skill[1, 0] == world.instance.skill0 + 1.0)
