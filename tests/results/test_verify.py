"""Damaged stores, through the command line: every run accounted for, never a wrong number.

A real sweep is written once (``takeoff -m``); each test damages a copy of its
store on disk the way issue 11 describes (a chunk deleted, bytes flipped, a
group or its ``zarr.json`` deleted while its done marker stays, a chunk
truncated or emptied), then runs what a user runs on it: ``takeoff-report``,
``takeoff-report --verify`` and ``--strict``, and the sweep command again. The helpers
(:func:`group_of`, :func:`chunk_of`) find a run's files from the store's own
metadata, so the tests hold for either store layout (one group per run, or
batches of runs with sharded arrays).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import results

BIN = Path(sys.executable).parent
GUARDS = ("none", "in_loop", "external")
#: The sweep every test damages a copy of: 9 runs, one group each (one per damage, and one sound).
SWEEP = ("seeds=2", "cycles=30", f"loop.guard.mode={','.join(GUARDS)}", "seed=0,1,2",
         "hydra.launcher.cluster=sync", "hydra.launcher.batch_size=1")
RUNS = 9


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def explain(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"


# -- finding a run's files --------------------------------------------------------------------
def _groups(store: Path) -> list[Path]:
    return sorted(p.parent for sub in ("runs", "batches") for p in store.glob(f"{sub}/*/zarr.json")
                  if not p.parent.name.startswith(".tmp-"))


def _runs_of(group: Path) -> list[str]:
    attrs = json.loads((group / "zarr.json").read_text())["attributes"]
    if "runs" in attrs:  # a batch of runs: its identity columns
        runs = attrs["runs"]
        return list(runs["run_id"]) if isinstance(runs, dict) else [r["run_id"] for r in runs]
    return [attrs["run_id"]]


def group_of(store: Path, rid: str) -> Path:
    """Return the group that holds run ``rid``."""
    for group in _groups(store):
        if rid in _runs_of(group):
            return group
    raise AssertionError(f"no group of {store} holds run {rid}")


def chunk_of(store: Path, rid: str, variable: str) -> Path:
    """Return the chunk (or shard) file that holds ``variable`` of run ``rid``."""
    group = group_of(store, rid)
    if (group / variable).is_dir():
        array = group / variable
    else:
        arrays = json.loads((group / "zarr.json").read_text())["attributes"]["arrays"]
        array = group / next(name for name, spec in arrays.items() if variable in spec["variables"])
    chunks = sorted(p for p in array.iterdir() if p.name != "zarr.json")
    assert chunks, f"{array} holds no chunk"
    return chunks[0]


def first_run(store: Path) -> str:
    """Return the run stored first in the first group (its data comes first in each chunk)."""
    return _runs_of(_groups(store)[0])[0]


# -- the damage ---------------------------------------------------------------------------------
def delete_chunk(store: Path, rid: str) -> None:
    chunk_of(store, rid, "ability").unlink()


def flip_bytes(store: Path, rid: str) -> None:
    _flip(chunk_of(store, rid, "ability"))


def flip_analysis(store: Path, rid: str) -> None:
    """Flip bytes in the run's stored analysis (per world), which takeoff-report reads."""
    _flip(next(p for p in sorted(group_of(store, rid).glob("analysis-*float64/c*")) if p.is_file()))


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    start = min(16, len(data) // 4)
    for i in range(start, min(start + 100, len(data))):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def delete_group(store: Path, rid: str) -> None:
    shutil.rmtree(group_of(store, rid))


def delete_group_metadata(store: Path, rid: str) -> None:
    (group_of(store, rid) / "zarr.json").unlink()


def truncate_chunk(store: Path, rid: str) -> None:
    path = chunk_of(store, rid, "ability")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def empty_chunk(store: Path, rid: str) -> None:
    chunk_of(store, rid, "score").write_bytes(b"")


def infinity_through_zarr(store: Path, rid: str) -> None:
    """Write +inf into the run's ability through zarr itself: every checksum stays valid."""
    import zarr

    group = group_of(store, rid)
    array = chunk_of(store, rid, "ability").parent
    data = zarr.open_array(str(array), mode="r+", zarr_format=3)
    index = _runs_of(group).index(rid)
    corner = (0,) * data.ndim if (group / "ability").is_dir() else (index,) + (0,) * (data.ndim - 1)
    data[corner] = np.inf


DAMAGE: dict[str, Callable[[Path, str], None]] = {
    "delete_chunk": delete_chunk,
    "flip_bytes": flip_bytes,
    "delete_group": delete_group,
    "delete_group_metadata": delete_group_metadata,
    "truncate_chunk": truncate_chunk,
    "empty_chunk": empty_chunk,
    "infinity_through_zarr": infinity_through_zarr,
    "flip_analysis": flip_analysis,
}
#: Damage to the trajectories, which open_sweep reads.
TRAJECTORY_DAMAGE = [name for name in DAMAGE if name != "flip_analysis"]


# -- a real sweep, and its report before any damage ---------------------------------------------
@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("verify")
    done = run("takeoff", "-m", *SWEEP, f"hydra.sweep.dir={root}/sweep", cwd=root)
    assert done.returncode == 0, explain(done)
    report = run("takeoff-report", f"{root}/sweep/results.zarr", "--out", f"{root}/report", "--quiet",
                 "--strict", cwd=root)
    assert report.returncode == 0, explain(report)
    assert report.stdout.startswith(f"{RUNS} runs analysed; 0 left out."), report.stdout
    return root


def damaged_copy(sweep: Path, tmp_path: Path, *damages: str) -> tuple[Path, list[str]]:
    """Copy the sweep's store and damage one run per damage, each in a group of its own."""
    store = tmp_path / "results.zarr"
    shutil.copytree(sweep / "sweep" / "results.zarr", store)
    groups = _groups(store)
    assert len(groups) >= len(damages), f"{len(damages)} damages need as many groups; there are {len(groups)}"
    victims = [_runs_of(group)[0] for group in groups[: len(damages)]]
    for damage, victim in zip(damages, victims, strict=True):
        DAMAGE[damage](store, victim)
    return store, victims


def verify_table(store: Path, cwd: Path) -> dict[str, str]:
    """Run ``takeoff-report STORE --verify``; return each run's status line, by run id (exit 3 asserted)."""
    done = run("takeoff-report", str(store), "--verify", cwd=cwd)
    assert done.returncode == 3, explain(done)
    assert "Traceback" not in done.stderr, done.stderr
    statuses = ("done", "damaged", "failed", "incomplete", "missing")
    return {line.split()[0]: line for line in done.stdout.splitlines()
            if len(line.split()) > 1 and line.split()[1] in statuses}


@pytest.mark.parametrize("damage", TRAJECTORY_DAMAGE)
def test_damaged_run_is_named_and_never_read_as_numbers(sweep: Path, tmp_path: Path, damage: str) -> None:
    store, (victim,) = damaged_copy(sweep, tmp_path, damage)
    group = set(_runs_of(group_of(sweep / "sweep" / "results.zarr", victim)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = results.open_sweep(store)
    # Flipped bytes are found only when the chunk is read; infinity rewritten through zarr too,
    # unless zarr's new shard differs in size from the one published (then open_sweep finds it).
    reading = damage == "flip_bytes" or (
        damage == "infinity_through_zarr" and victim in ds.run_id.values.tolist())
    named = [str(w.message) for w in caught if victim in str(w.message)]
    if reading:
        assert victim in ds.run_id.values.tolist(), "open_sweep is lazy: it reads no chunk"
        with pytest.raises(results.DamagedRunError) as err:
            ds.sel(run=ds.run_id == victim).load()  # every variable: the bad bytes may be another's
        assert victim in err.value.run_ids and victim in str(err.value)
        guard = str(ds["loop.guard.mode"].values[ds.run_id.values.tolist().index(victim)])
        assert f"loop.guard.mode={guard}" in str(err.value), str(err.value)
        assert "rerun the sweep command" in str(err.value), str(err.value)
    else:
        assert named and "damaged" in named[0], [str(w.message) for w in caught]
        assert "rerun the sweep command" in named[0], named[0]
        assert victim not in ds.run_id.values.tolist()
    # The damaged group's runs share its chunks (all its variables, when they are small), and dask
    # reads blocks of runs: leave them out as a user would, to read the others.
    values = results.open_sweep(store, exclude=list(group)).ability.values if reading else ds.ability.values
    assert not np.isinf(values).any()
    table = results.verify(store)
    hit = set(table.run_id[table.status == "damaged"])
    assert victim in hit and hit <= group, f"damage to one group spread to others: {hit - group}"
    assert (table.status[~table.run_id.isin(list(hit))] == "done").all(), table


#: What the report says is wrong, for each damage (infinity rewritten by zarr may change the shard's size).
SAYS = {
    "delete_chunk": ("is missing",),
    "flip_bytes": ("checksum",),  # zarr's crc32c codec, reading the stacked array that holds ability
    "delete_group": ("is gone or has no",),
    "delete_group_metadata": ("is gone or has no",),
    "truncate_chunk": ("is truncated",),
    "empty_chunk": ("is empty",),
    "infinity_through_zarr": ("holds infinity", "changed in size"),
    "flip_analysis": ("checksum",),
}
#: Found only when read: the report reads the analysis the jobs stored, not these trajectories.
UNREAD = ("flip_bytes", "infinity_through_zarr")


def test_every_damage_is_named_left_out_and_recomputed_by_a_rerun(sweep: Path, tmp_path: Path) -> None:
    # Each damage of issue 11 hits a run of its own group. takeoff-report names each damaged run
    # it finds (id, overrides, what is wrong) and what to do, and analyses the others: their numbers
    # are the undamaged store's. A trajectory it does not read (it reads the stored analysis) may
    # hold damage only --verify finds, which reads everything.
    original = sweep / "sweep" / "results.zarr"
    given = dict(zip(*(results.verify(original)[c] for c in ("run_id", "overrides")), strict=True))
    store, victims = damaged_copy(sweep, tmp_path, *DAMAGE)
    out = tmp_path / "report"
    report = run("takeoff-report", str(store), "--out", str(out), "--quiet", "--strict", cwd=tmp_path)
    assert report.returncode == 3, explain(report)  # --strict: written, but not every run is done
    assert "Traceback" not in report.stderr, report.stderr
    lines = report.stdout.splitlines()
    named = {}
    for damage, victim in zip(DAMAGE, victims, strict=True):
        line = next((x for x in lines if x.split()[:2] == ["damaged", victim]), None)
        assert line is not None or damage in UNREAD, f"{damage}: run {victim} is not named\n{report.stdout}"
        if line is not None:
            assert given[victim] in line and any(s in line for s in SAYS[damage]), f"{damage}: {line}"
            named[victim] = line
    n = len(named)
    assert lines[0] == f"{RUNS - n} runs analysed; {n} left out: {n} damaged.", report.stdout
    assert f"<p>{lines[0]}</p>" in (out / "report.html").read_text()
    assert f"rerun the sweep command that wrote {store}" in report.stdout, report.stdout
    before = pd.read_csv(sweep / "report" / "summary.csv")
    after = pd.read_csv(out / "summary.csv")
    expected = before[~before["run_id"].isin(list(named))].reset_index(drop=True)
    pd.testing.assert_frame_equal(after.drop(columns="variant"), expected.drop(columns="variant"))
    rows = verify_table(store, tmp_path)
    assert {rid for rid, line in rows.items() if line.split()[1] == "damaged"} == set(victims), rows
    assert sum(line.split()[1] == "done" for line in rows.values()) == RUNS - len(DAMAGE), rows

    # The sweep command again: every damaged run is recomputed, but a group holding a file takeoff
    # did not write is left exactly as it is (its run stays damaged, and the message says why).
    kept = victims[list(DAMAGE).index("truncate_chunk")]
    mine = group_of(store, kept) / "notes.txt"
    mine.write_text("mine")
    files = {p: p.read_bytes() for p in mine.parent.rglob("*") if p.is_file()}
    rerun = run("takeoff", "-m", *SWEEP, f"store={store}", f"hydra.sweep.dir={tmp_path}/again", cwd=tmp_path)
    assert rerun.returncode == 0, explain(rerun)
    assert f"{len(DAMAGE) - 1} damaged runs are recomputed" in rerun.stdout, explain(rerun)
    assert f"{kept} holds files takeoff did not write" in rerun.stderr and "notes.txt" in rerun.stderr
    assert {p: p.read_bytes() for p in mine.parent.rglob("*") if p.is_file()} == files
    table = results.verify(store)
    assert table.run_id[table.status != "done"].tolist() == [kept], table
    want = results.open_sweep(original)
    got = results.open_sweep(store)
    for rid in set(victims) - {kept}:
        np.testing.assert_array_equal(got.ability.sel(run=got.run_id == rid).values,
                                      want.ability.sel(run=want.run_id == rid).values)


def test_killed_sweep_is_reported_incomplete(tmp_path: Path) -> None:
    # Sync jobs run in the sweep's own process, one run per batch, in grid order: the fourth
    # job kills it (fault.kill_worker), after three runs were written, with six planned.
    killed = run("takeoff", "-m", "seeds=2", "cycles=30", "fault.kill_worker=false,true", "seed=0,1,2",
                 f"hydra.sweep.dir={tmp_path}/sweep", "hydra.launcher.cluster=sync",
                 "hydra.launcher.batch_size=1", cwd=tmp_path)
    assert killed.returncode == -9, explain(killed)
    store = tmp_path / "sweep" / "results.zarr"
    out = tmp_path / "report"

    report = run("takeoff-report", str(store), "--out", str(out), "--quiet", "--strict", cwd=tmp_path)
    assert report.returncode == 3, explain(report)  # --strict: written, but not every run is done
    first = report.stdout.splitlines()[0]
    assert first.startswith("3 runs analysed; 3 left out: "), report.stdout
    assert first.endswith("3 missing.") or "incomplete" in first, report.stdout
    assert "left out" in report.stderr, "the warning that the sweep is incomplete is not hidden"
    assert f"rerun the sweep command that wrote {store}" in report.stdout, report.stdout
    assert f"<p>{first}</p>" in (out / "report.html").read_text()
    assert len(pd.read_csv(out / "summary.csv")) == 3 * 2
    table = results.verify(store)
    assert len(table) == 6 and (table.status == "done").sum() == 3, table
    left = table.overrides[table.status != "done"].str.lower()
    assert left.str.contains("fault.kill_worker=true").all(), table
