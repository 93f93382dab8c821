"""Every compiled stage twin changes the state exactly as its numpy stage does.

Mid-run states are taken from numpy runs of several variants; each stage then
runs on two copies, one per engine, with the same draws and environment. The
comparison covers every slot a later stage or the record can read: live
slots of worlds still simulated (a dead slot's leftovers are never read, and
the compiled kernel does not spend time on them).
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from loops import engine, simulate
from loops.driver import allocate_compute, enabled_stages
from loops.random import Streams
from loops.recorder import Recorder
from loops.stage import STAGES, Events
from loops.stages.interventions import environment
from loops.state import Population, initial_population
from loops.suite import BenchmarkSuite
from tests.loops.conftest import compose

COMPILED = engine.select("numba")
#: Scratch of a proposal: meaningful only where the slot proposed this cycle.
PROPOSAL = ("delta", "dbias", "new_tools", "factor")
#: Measured by the benchmark only for working instances.
MEASURED = ("expected_proxy",)

RUNS = {
    "story": ("+experiment=story", "seeds=6", "capacity.home=24", "capacity.external=12",
              "capacity.compute_home=8", "model.t_net=15", "interventions.t_shutdown=40",
              "instance.tools=[replicate,copy_external]"),
    "no_guard_sharing": ("+experiment=story", "seeds=6", "loop.guard.mode=none", "capacity.home=32",
                         "instance.tools=[replicate,share,copy_external]", "model.t_net=10",
                         "loop.replicate.rho=0.5"),
    "bare_takeoff": ("+experiment=story", "seeds=4", "loop=bare", "loop.propose.returns=1.5",
                     "loop.propose.rate=0.05", "instance.theta_max=8", "model.t_net=0"),
    "crashing": ("+experiment=story", "seeds=6", "loop=checkpointed", "loop.propose.hallucination=1.0",
                 "loop.propose.hallucination_decay=0.0", "loop.propose.hallucination_harm=5",
                 "loop.benchmark.crash_below=-0.3"),
}
CYCLES = (0, 12, 30, 47)


def mid_run_states(name: str, suite: BenchmarkSuite) -> list[tuple[int, Population, Streams]]:
    """Run ``name`` with the numpy stages and keep a copy of the state at each of CYCLES."""
    run = compose(*RUNS[name])
    world = run.world()
    state = initial_population(world, run.seeds, len(suite.domains))
    streams = Streams(run.seed, range(run.seeds))
    recorder = Recorder(world, np.arange(run.seeds), suite.domains, cycles=max(CYCLES) + 1, every=1)
    kept = []
    for cycle in range(max(CYCLES) + 1):
        if cycle in CYCLES:
            kept.append((cycle, copy.deepcopy(state), streams))
        env = environment(world, suite, cycle)
        allocate_compute(state, world)
        for stage in enabled_stages(world):
            stage.run(state, stage.config(world), streams.stage(cycle, stage.number, state.n_slots), env)
            if stage.name == "benchmark":
                recorder.observe(state, cycle)  # marks divergence, as the driver does
    return kept


def assert_same_state(got: Population, want: Population, where: str) -> None:
    live = want.alive & ~want.diverged[:, None]
    np.testing.assert_array_equal(got.alive, want.alive, err_msg=f"{where}: alive")
    np.testing.assert_array_equal(got.diverged, want.diverged, err_msg=f"{where}: diverged")
    for field in dataclasses.fields(Population):
        name = field.name
        if name in ("home", "diverged"):
            continue
        mask = live
        if name in PROPOSAL:
            mask = live & want.proposed
        elif name in MEASURED:
            mask = live & want.functional
        np.testing.assert_array_equal(getattr(got, name)[mask], getattr(want, name)[mask],
                                      err_msg=f"{where}: {name}")


def assert_same_events(got: Events, want: Events, where: str) -> None:
    assert dict(got.items()).keys() == dict(want.items()).keys(), where
    for name, counts in want.items():
        np.testing.assert_array_equal(dict(got.items())[name], counts, err_msg=f"{where}: {name}")


@pytest.mark.parametrize("run_name", list(RUNS))
def test_every_stage_twin_matches_its_numpy_stage(run_name: str, suite: BenchmarkSuite) -> None:
    run = compose(*RUNS[run_name])
    world = run.world()
    for cycle, state, streams in mid_run_states(run_name, suite):
        env = environment(world, suite, cycle)
        for stage in enabled_stages(world):
            draws = streams.stage(cycle, stage.number, state.n_slots)
            want, got = copy.deepcopy(state), copy.deepcopy(state)
            allocate_compute(want, world)
            COMPILED.allocate(got, world)
            assert_same_state(got, want, f"{run_name} cycle {cycle} allocate")
            want_events = stage.run(want, stage.config(world), draws, env)
            got_events = COMPILED.run(stage)(got, stage.config(world), draws, env)
            where = f"{run_name} cycle {cycle} stage {stage.name}"
            assert_same_state(got, want, where)
            assert_same_events(got_events, want_events, where)
            state = want  # the next stage starts from this one's result


def test_every_stage_has_a_compiled_twin_or_is_trivial() -> None:
    trivial = {"interventions"}  # one masked assignment: the numpy stage serves both engines
    assert set(COMPILED.stages) | trivial == set(STAGES.names())
    assert not set(COMPILED.stages) & trivial


def test_the_states_exercise_every_path(suite: BenchmarkSuite) -> None:
    totals = {}
    for name, overrides in RUNS.items():
        run = compose(*overrides)
        traj = simulate(run.world(), suite, cycles=max(CYCLES) + 1, run_seed=run.seed,
                        seed_indices=range(run.seeds), engine="numpy")
        totals[name] = {key: float(np.nansum(getattr(traj, key))) for key in
                        ("spawns", "guard_errors", "guard_patches", "rollbacks", "crashed",
                         "capacity_failures", "troubleshoots", "instances_external")}
        totals[name]["diverged"] = float((traj.diverged_cycle >= 0).sum())
    for key in ("spawns", "guard_errors", "guard_patches", "rollbacks", "crashed", "capacity_failures",
                "troubleshoots", "instances_external", "diverged"):
        assert any(t[key] > 0 for t in totals.values()), f"no run exercises {key}: {totals}"
