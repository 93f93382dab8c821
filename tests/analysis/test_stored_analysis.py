"""``takeoff-report`` reads the analysis the jobs stored, and analyses again only what is stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import results
from analysis.stored import fresh_runs
from analysis.summary import summarize
from results.sweep import ANALYSIS_DIGEST
from tests.analysis.test_report_cli import run


def test_report_reads_no_trajectory_and_agrees_with_reanalyse(sweep: Path, tmp_path: Path) -> None:
    # A copy whose every trajectory shard is garbage: zarr's crc32c check fails on any read of it.
    broken = tmp_path / "broken.zarr"
    shutil.copytree(sweep, broken)
    shards = [p for p in (broken / "batches").glob("*/trajectory-*/c*") if p.is_file()]
    assert shards
    for shard in shards:
        shard.write_bytes(b"\0" * shard.stat().st_size)
    fresh = run("takeoff-report", str(broken), "--out", str(tmp_path / "fresh"), "--quiet", cwd=tmp_path)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "analysed again" not in fresh.stdout, fresh.stdout
    # Every run analysed again on a LocalCluster of 2 worker processes: the same report, byte for byte.
    again = run("takeoff-report", str(sweep), "--out", str(tmp_path / "again"), "--quiet", "--reanalyse",
                "--n-workers", "2", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "4 runs on a LocalCluster of 2 workers" in again.stdout, again.stdout
    for name in ("summary.csv", "variants.csv"):
        assert (tmp_path / "fresh" / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    for name in ("story.png", "trajectories.png", "outbreak.png"):
        assert (tmp_path / "fresh" / name).is_file(), name
    broken_again = run("takeoff-report", str(broken), "--out", str(tmp_path / "b"), "--quiet", "--reanalyse",
                       "--cluster", "sync", cwd=tmp_path)
    assert broken_again.returncode != 0, "--reanalyse read the (broken) trajectories"


def test_stale_runs_are_analysed_from_their_trajectories(sweep: Path) -> None:
    ds, analysis = results.open_sweep(sweep), results.open_analysis(sweep)
    assert fresh_runs(ds, analysis).all()
    reference, ref_curves, ref_variants = summarize(ds)
    old = analysis[ANALYSIS_DIGEST].values.copy()
    old[1] = "0123456789abcdef"  # the analysis of older code
    stale = analysis.assign_coords({ANALYSIS_DIGEST: ("run", old)})
    assert fresh_runs(ds, stale).tolist() == [True, False, True, True]
    for stored in (analysis, stale):
        table, curves, variants = summarize(ds, analysis=stored)
        pd.testing.assert_frame_equal(table, reference)
        assert [c.run_id for c in curves] == [c.run_id for c in ref_curves]
        for mine, theirs in zip(curves, ref_curves, strict=True):
            assert mine.means.keys() == theirs.means.keys()
            for name, mean in mine.means.items():
                np.testing.assert_allclose(mean, theirs.means[name], rtol=1e-5, equal_nan=True)
        for variant, acc in ref_variants.items():
            for name, total in acc.total.items():
                np.testing.assert_allclose(variants[variant].total[name], total, rtol=1e-5)
                np.testing.assert_allclose(variants[variant].squares[name], acc.squares[name], rtol=1e-5)
                np.testing.assert_array_equal(variants[variant].count[name], acc.count[name])


@pytest.mark.slow
def test_min_effect_reanalyses_every_run_with_the_given_effect(tmp_path: Path) -> None:
    """``--min-effect``: the jobs' stored analysis used the default, so every run is analysed again.

    The story's held-out score looks flat while ability rises: an apparent plateau by the
    default, a plateau once the minimum effect exceeds any gain.
    """
    done = run("takeoff", "-m", "+experiment=story", "seeds=4", "hydra.launcher.cluster=sync",
               f"hydra.sweep.dir={tmp_path}/story", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    sweep = tmp_path / "story" / "results.zarr"
    base = run("takeoff-report", str(sweep), "--out", str(tmp_path / "base"), "--quiet", cwd=tmp_path)
    assert base.returncode == 0, base.stderr[-3000:]
    wide = run("takeoff-report", str(sweep), "--out", str(tmp_path / "wide"), "--quiet", "--min-effect", "50",
               cwd=tmp_path)
    assert wide.returncode == 0, wide.stderr[-3000:]
    said = "--min-effect 50.0 (the jobs analysed with 0.01): every run analysed again"
    assert said in wide.stdout, wide.stdout
    before, after = (pd.read_csv(tmp_path / d / "summary.csv") for d in ("base", "wide"))
    flat_before = before[["regime", "score_regime"]].isin(["apparent_plateau"]).to_numpy().sum()
    assert flat_before > 0, before[["regime", "score_regime"]]  # the rule has something to decide here
    # A minimum effect of 50 in ln C (a factor e^50): no growth left counts, every flat window is a plateau.
    assert not after[["regime", "score_regime"]].isin(["apparent_plateau"]).to_numpy().any()
    assert (after[["regime", "score_regime"]] == "plateau").to_numpy().sum() >= (
        (before[["regime", "score_regime"]] == "plateau").to_numpy().sum() + flat_before)
    for bad in ("0", "-1", "nan"):
        refused = run("takeoff-report", str(sweep), "--out", str(tmp_path / "x"), "--min-effect", bad,
                      cwd=tmp_path)
        assert refused.returncode == 2 and "--min-effect" in refused.stderr, (bad, refused.stderr)


def test_a_report_reads_each_stored_block_of_a_batch_once(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored analysis and curve means of many batch groups: each group's stacked arrays read once.

    Dask reads a block of runs a variable at a time, every group of the block for
    each variable; the reader keeps the rows it read for the other variables. With
    a cache of a few reads, 24 groups were read once per variable (hundreds of reads).
    """
    from analysis import stored
    from analysis.summary import VariantCurves
    from analysis.world import stored_parts
    from results import batch
    from results.bench import write_many_runs

    path = tmp_path / "many.zarr"
    write_many_runs(path, 48, batch=2, with_run=lambda ds: stored_parts(ds, {}))
    ds, analysis = results.open_sweep(path), results.open_analysis(path)
    assert fresh_runs(ds, analysis).all()
    reads: list[tuple[str, str]] = []
    real = batch.read_rows

    def counted(group_url, array, positions, variable):  # type: ignore[no-untyped-def]
        reads.append((group_url, array))
        return real(group_url, array, positions, variable)

    monkeypatch.setattr(batch, "read_rows", counted)
    runs = np.arange(ds.sizes["run"])
    labels = ["all"] * len(runs)
    table = stored.rows(ds, analysis, runs, labels, [])
    by_variant: dict[str, VariantCurves] = {}
    curves = stored.curves(analysis, runs, labels, ds["cycle"].values, by_variant)
    assert len(table) == 48 * ds.sizes["seed"] and len(curves) == 48
    groups = {url for url, _ in reads}
    assert len(groups) == 24
    assert len(reads) == len(set(reads)), f"{len(reads)} reads of {len(set(reads))} stacked arrays"
