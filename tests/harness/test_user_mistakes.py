"""User mistakes give one line and exit 2 before any work, through the command line (issue 11, item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.job import identity, model_digest
from loops.config import WorldConfig
from loops.memory import estimate
from tests.harness.conftest import SMALL, explain, takeoff


def _one_line_exit_2(done: object, *needles: str) -> None:
    import subprocess

    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == 2, explain(done)
    assert "Traceback" not in done.stderr, explain(done)
    lines = [line for line in done.stderr.splitlines() if line.startswith("takeoff: ")]
    assert lines, explain(done)
    for needle in needles:
        assert needle in lines[0], explain(done)


#: A sweep without a Dask cluster: what is checked here happens before any job, on any launcher.
SWEEP = ["-m", "hydra.launcher.cluster=sync"]


@pytest.mark.parametrize("override", ["+foo=1", "+loop.propose.foo=1"])
@pytest.mark.parametrize("mode", [[], SWEEP])
def test_an_added_unknown_key_is_named(workdir: Path, override: str, mode: list[str]) -> None:
    done = takeoff(*mode, override, *SMALL, cwd=workdir)
    _one_line_exit_2(done, f"{override[1:].split('=')[0]} is not a takeoff config key")
    assert not (workdir / "outputs").exists() or not list((workdir / "outputs").rglob("results.zarr"))


@pytest.mark.parametrize("mode", [[], SWEEP])
def test_a_run_too_big_for_memory_is_refused_before_allocating(workdir: Path, mode: list[str]) -> None:
    done = takeoff(*mode, "seeds=1000000", "cycles=10000000", cwd=workdir, timeout=120)
    _one_line_exit_2(done, "seeds=1000000 cycles=10000000", "TiB", "available")
    assert not list(workdir.rglob("results.zarr"))


def test_the_memory_estimate_counts_slots_and_records() -> None:
    small = estimate(WorldConfig(), seeds=10, cycles=100, record_every=1, domains=3)
    assert estimate(WorldConfig(), seeds=20, cycles=100, record_every=1, domains=3).total == 2 * small.total
    assert small.bytes_per_slot > 100  # float64 skill per domain, ability, ... (README: 235 B/slot)
    longer = estimate(WorldConfig(), seeds=10, cycles=200, record_every=1, domains=3)
    assert longer.records == 2 * small.records and longer.state == small.state


@pytest.mark.parametrize(("key", "where"), [
    ("hydra.sweep.dir", "a_file"),
    ("hydra.sweep.dir", "a_file/below"),
    ("hydra.sweep.dir", "/sys/takeoff-read-only"),  # sysfs takes no new files, even from root
    ("hydra.run.dir", "a_file"),
])
def test_an_output_dir_that_cannot_be_made_is_named(workdir: Path, where: str, key: str) -> None:
    (workdir / "a_file").write_text("not a directory\n")
    mode = SWEEP if key == "hydra.sweep.dir" else []
    done = takeoff(*mode, *SMALL, f"{key}={where}", cwd=workdir)
    _one_line_exit_2(done, f"{key}={where!r}")
    assert (workdir / "a_file").read_text() == "not a directory\n"


def test_the_model_digest_is_part_of_a_runs_identity() -> None:
    from harness.config import RunConfig

    data = identity(RunConfig())
    assert data["model_digest"] == model_digest()
    assert len(model_digest()) == 16 and int(model_digest(), 16) >= 0
    assert "engine" not in data and "store" not in data
