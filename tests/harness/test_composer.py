"""The launcher's fast composition gives exactly what Hydra's full composition gives, job for job.

The fast path sets a job's values on the run config composed once per set of
group choices; the full path composes every job with Hydra (the reference).
Both are run on the real config tree and the real config loader, over value
overrides of every kind the schema has, group choices, and mistakes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hydra._internal.hydra import Hydra
from hydra._internal.utils import create_config_search_path
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import HydraContext, RunMode

from harness.config import register_configs
from harness.launcher.composer import _NUMBER, SweepComposer, compose_jobs
from hydra_plugins.takeoff_launcher.dask_launcher import DaskLauncher
from loops.params import ConfigError

CONF = str(Path(__file__).resolve().parents[2] / "conf")


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The launcher of ``takeoff -m`` with no overrides (Hydra's global state cleared afterwards)."""
    yield launcher(tmp_path_factory.mktemp("sweep"))
    GlobalHydra.instance().clear()


def launcher(tmp_path: Path, *overrides: str) -> DaskLauncher:
    """The launcher as Hydra sets it up for ``takeoff -m <overrides>`` (real loader, real config)."""
    register_configs()
    GlobalHydra.instance().clear()
    hydra = Hydra.create_main_hydra2(task_name="takeoff", config_search_path=create_config_search_path(CONF))
    cfg = hydra.config_loader.load_configuration(
        "config", overrides=[*overrides, f"hydra.sweep.dir={tmp_path}"], run_mode=RunMode.MULTIRUN)
    out = DaskLauncher()
    out.setup(hydra_context=HydraContext(config_loader=hydra.config_loader, callbacks=None),
              task_function=lambda cfg: None, config=cfg)
    return out


#: Value overrides of every kind of field: floats (as floats, ints, exponents, strings), ints,
#: bools, enums, optional ints (null), strings, numbers Hydra reads as strings, a tuple.
VALUES = [
    ["loop.propose.rate=0.125"], ["loop.propose.rate=1"], ["loop.propose.rate=2.5e-2"],
    ["loop.propose.rate=.5"], ["loop.propose.rate=1."], ["loop.propose.rate=+0.25"],
    ["loop.propose.rate='0.25'"], ["loop.propose.rate=1_0e-2"],
    ["loop.propose.returns=0.1234567890123456789"],
    ["seeds=3", "cycles=50"], ["seed=12345678901234"], ["cycles=007"],
    ["loop.evaluate.enabled=false"], ["loop.checkpoint.enabled=True"], ["wild.enabled=false"],
    ["loop.guard.mode=none"], ["loop.guard.mode=external"], ["model.t_net=null"], ["model.t_net=60"],
    ["model.ceiling=null"], ["engine=numpy"], ["tasks.suite=heavy_tail"], ["tasks.seed=7"],
    ["instance.tools=[]"], ["tasks.domains=[chess,math]"], ["record.every=2"],
    ["loop.propose.rate=0.1", "loop.propose.rate=0.2"],
    ["capacity.home=64", "seed=3", "loop.propose.sigma=0"],
]
#: Group choices, alone and with values.
GROUPS = [["loop=bare"], ["loop=bare", "loop.propose.rate=0.3"], ["model=networked", "model.t_net=80"],
          ["+experiment=story", "seed=4"], ["+experiment=deterministic", "loop.propose.returns=1.5"],
          ["loop=evaluated", "loop.evaluate.noise=0.5", "seeds=2"], ["tasks=heavy_tail", "tasks.items=50"]]


def test_the_fast_path_gives_hydras_job_specs(default: DaskLauncher) -> None:
    jobs = VALUES + GROUPS
    fast, full = (compose_jobs(default, jobs, 0, fast=fast)[0] for fast in (True, False))
    assert len(fast) == len(full) == len(jobs)
    for job, quick, slow in zip(jobs, fast, full, strict=True):
        assert quick == slow, job  # run config, identity, run id, params, overrides, index, store, job dir
        assert quick.config_yaml == slow.config_yaml
    assert len({s.run_id for s in full}) >= 25  # the overrides do change the runs


def test_the_fast_path_is_taken_for_values(tmp_path: Path) -> None:  # after the module's launcher
    """Numbers, bools, enums, null and strings take the fast path; a list, a preset's values too."""
    chosen = launcher(tmp_path, "+experiment=story")
    composer = SweepComposer(chosen)
    scalar = [job for job in VALUES if not any("[" in o for o in job)]
    compose_jobs(chosen, scalar, 0, composer=composer)
    assert (composer.quick, composer.slow) == (len(scalar), 0)
    compose_jobs(chosen, [["instance.tools=[]"]], 0, composer=composer)
    assert composer.slow == 1


MISTAKES = [
    ["loop.propose.rate=-1"], ["loop.propose.rate=abc"], ["seeds=0"], ["seeds=1.5"], ["cycles=true"],
    ["loop.guard.mode=sideways"], ["loop.propose.rat=0.1"], ["loop.evaluate.enabled=maybe"],
    ["engine=fast"], ["record.every=500"], ["loop.propose.p_tool=0.8", "loop.propose.p_loop=0.5"],
    ["loop=nonesuch"], ["+nonesuch=1"], ["seeds=null"], ["seed=0x10"], ["capacity.home=1e9"],
]


def test_a_mistake_gives_the_same_message_on_both_paths(default: DaskLauncher) -> None:
    composers = [SweepComposer(default, fast=fast) for fast in (True, False)]
    for job in MISTAKES:
        messages = []
        for composer in composers:
            with pytest.raises(ConfigError) as err:
                compose_jobs(default, [["seed=1"], job], 0, composer=composer)
            messages.append(str(err.value))
        assert messages[0] == messages[1], job
        assert messages[0].startswith(f"job #1 ({' '.join(job)}): "), job


@pytest.mark.parametrize("text", ["0", "-0", "+7", "10", "0.5", ".5", "5.", "-1.25e-3", "1E5", "3e+2",
                                  "0.1234567890123456789", "12345678901234567890", "00", "1_000", "inf",
                                  "1e", "--1", "0x10", "1.2.3", "nan", "1e5x"])
def test_numbers_read_as_hydras_parser_reads_them(text: str) -> None:
    """What the fast path reads as a number, Hydra's grammar reads as the same number of the same type."""
    (override,) = OverridesParser.create().parse_overrides([f"loop.propose.rate={text}"])
    match = _NUMBER.fullmatch(f"loop.propose.rate={text}")
    if match is not None:
        value = int(match["int"]) if match["int"] else float(match["float"])
        assert (type(value), value) == (type(override.value()), override.value())
        assert match["key"] == override.key_or_group
