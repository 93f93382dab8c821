"""Every registered stage and every loop variant and preset keeps the record's schema."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from loops import simulate
from loops.driver import enabled_stages
from loops.record import Trajectory
from loops.stage import STAGES
from loops.stages import CYCLE_ORDER
from loops.suite import BenchmarkSuite
from tests.loops.conftest import CONF, compose

VARIANTS = sorted(p.stem for p in Path(CONF, "loop").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in Path(CONF, "experiment").glob("*.yaml"))


def test_stage_numbers_are_unique_and_the_order_is_the_cycle() -> None:
    stages = [STAGES.get(name) for name in STAGES.names()]
    assert len({s.number for s in stages}) == len(stages)
    assert sorted(STAGES.names()) == sorted(CYCLE_ORDER), "a registered stage is missing from the cycle"
    expected = ["benchmark", "propose", "evaluate", "checkpoint", "troubleshoot", "replicate",
                "interventions"]
    assert [s.name for s in enabled_stages(compose().world())] == expected


def test_unknown_stage_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="unknown stage 'nope'; known: \\['benchmark'"):
        STAGES.get("nope")


@pytest.mark.parametrize("stage", STAGES.names())
def test_every_stage_reads_its_config(stage: str) -> None:
    import dataclasses
    import typing

    entry = STAGES.get(stage)
    world = compose().world()
    picked = entry.config(world)
    # The picker hands the stage the config type its run() declares, taken out of the world ...
    assert typing.get_type_hints(entry.run)["cfg"] is type(picked)
    # ... and the world's own value of it (or a view made of the world's values): a changed world
    # config reaches the stage.
    parts = {id(world)}
    todo = [world]
    while todo:
        node = todo.pop()
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if dataclasses.is_dataclass(value):
                parts.add(id(value))
                todo.append(value)
    view = [getattr(picked, f.name) for f in dataclasses.fields(picked)]
    assert id(picked) in parts or all(id(v) in parts for v in view), (
        f"stage {stage!r} reads a config that is not the world config's")


def check(traj: Trajectory, seeds: int, cycles: int, n_domains: int) -> None:
    for name, values in traj.arrays().items():
        lead = (seeds,) if name == "diverged_cycle" else (seeds, cycles)
        assert values.shape[: len(lead)] == lead, name
        assert not np.isinf(values).any(), name
    assert traj.score.shape == (seeds, cycles, n_domains)
    assert np.nanmin(traj.score) >= 0 and np.nanmax(traj.score) <= 1


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_loop_variant(variant: str, suite: BenchmarkSuite) -> None:
    run = compose(
        f"loop={variant}",
        "seeds=3",
        "cycles=25",
        "model=networked",
        "model.t_net=10",
        "instance.tools=[replicate,share]",
    )
    names = {s.name for s in enabled_stages(run.world())}
    assert {"benchmark", "propose", "evaluate", "replicate", "interventions"} <= names
    assert ("checkpoint" in names) == run.loop.checkpoint.enabled
    assert ("troubleshoot" in names) == run.loop.troubleshoot.enabled
    check(simulate(run.world(), suite, cycles=25, run_seed=0, seed_indices=range(3)), 3, 25, 3)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_preset_runs_past_its_events_at_small_size(experiment: str,
                                                                     suite: BenchmarkSuite) -> None:
    preset = compose(f"+experiment={experiment}")
    events = [t for t in (preset.model.t_net, preset.interventions.t_shutdown) if t is not None]
    cycles = max([15, *(t + 5 for t in events)])
    assert cycles <= preset.cycles, f"the preset's own cycles end before its events {events}"
    run = compose(f"+experiment={experiment}", "seeds=2", f"cycles={cycles}", "capacity.home=8",
                  "capacity.external=8")
    traj = simulate(run.world(), suite, cycles=cycles, run_seed=run.seed, seed_indices=range(2))
    check(traj, 2, cycles, 3)
    if run.interventions.t_shutdown is not None:  # the plug was pulled: no home instance after it
        assert np.nan_to_num(traj.instances[:, run.interventions.t_shutdown:]).max() == 0
