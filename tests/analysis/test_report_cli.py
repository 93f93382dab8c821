"""``takeoff-report`` on real stores: the deterministic limit, failed runs, bad stores, memory."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import results
from results.testing import write_synthetic_runs

BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def limit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("limit")
    done = run(
        "takeoff",
        "-m",
        "+experiment=deterministic",
        "loop.propose.returns=0.5,1.0,1.5",
        f"hydra.sweep.dir={root}/sweep",
        "hydra.launcher.cluster=sync",
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    report = run(
        "takeoff-report", f"{root}/sweep/results.zarr", "--out", f"{root}/report", "--quiet", cwd=root
    )
    assert report.returncode == 0, report.stderr
    return root


def test_deterministic_limit_through_the_store(limit: Path) -> None:
    summary = pd.read_csv(limit / "report" / "summary.csv").set_index("loop.propose.returns")
    assert summary.loc[0.5, "regime"] == "polynomial"
    assert summary.loc[1.0, "regime"] == "exponential"
    assert summary.loc[1.5, "regime"] == "takeoff"
    t_star = 1 / (0.05 * 0.5)
    assert abs(summary.loc[1.5, "blowup_cycle"] - t_star) <= 0.1 * t_star
    assert pd.isna(summary.loc[1.0, "blowup_cycle"])
    assert summary.loc[1.5, "diverged_cycle"] > 0


def test_report_page_opens_without_a_server(limit: Path) -> None:
    page = (limit / "report" / "report.html").read_text()
    for src in ("story.png", "trajectories.png", "phase.png"):
        assert f"src='{src}'" in page, src
    for src in re.findall(r"src='([^']+)'", page):
        assert (limit / "report" / src).exists(), src
    # The limit has no guard (the bare loop): no survival curve, and the page says why.
    assert "guard_survival.png" not in page and "no variant has a guard" in page
    assert "http://" not in page and "https://" not in page


def test_failed_runs_are_reported_and_the_rest_analysed(tmp_path: Path) -> None:
    done = run(
        "takeoff",
        "-m",
        "seeds=2",
        "cycles=30",
        "fault.raise_in_job=false,true",
        f"hydra.sweep.dir={tmp_path}/sweep",
        "hydra.launcher.cluster=sync",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    report = run(
        "takeoff-report",
        f"{tmp_path}/sweep/results.zarr",
        "--out",
        f"{tmp_path}/report",
        "--quiet",
        cwd=tmp_path,
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("1 runs analysed; 1 left out: 1 failed."), report.stdout
    assert "injected fault" in report.stdout, report.stdout
    assert len(pd.read_csv(tmp_path / "report" / "summary.csv")) == 2
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<p>1 runs analysed; 1 left out: 1 failed.</p>" in page and "Runs left out" in page
    strict = run("takeoff-report", f"{tmp_path}/sweep/results.zarr", "--out", f"{tmp_path}/report2",
                 "--quiet", "--strict", cwd=tmp_path)
    assert strict.returncode == 3, strict.stdout + strict.stderr


def test_a_one_cycle_sweep_reports_without_warnings(tmp_path: Path) -> None:
    """A smoke sweep of one cycle gives a report, and no plotting library's warning on the terminal."""
    done = run("takeoff", "-m", "seeds=1", "cycles=1", "seed=0,1", f"hydra.sweep.dir={tmp_path}/sweep",
               "hydra.launcher.cluster=sync", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = run("takeoff-report", f"{tmp_path}/sweep/results.zarr", "--out", f"{tmp_path}/report",
                 "--quiet", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "Warning" not in report.stderr, report.stderr
    assert (tmp_path / "report" / "report.html").is_file()


@pytest.mark.parametrize("kind", ["empty", "foreign", "missing"])
def test_bad_store_gives_a_clear_error(tmp_path: Path, kind: str) -> None:
    store = tmp_path / "store"
    if kind == "empty":
        results.SweepStore(store)
    elif kind == "foreign":
        store.mkdir()
        (store / "notes.txt").write_text("mine")
    done = run("takeoff-report", str(store), "--out", str(tmp_path / "report"), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(store) in done.stderr and "Traceback" not in done.stderr, done.stderr
    if kind == "foreign":
        assert (store / "notes.txt").read_text() == "mine" and len(list(store.iterdir())) == 1


@pytest.mark.parametrize("kind", ["file", "inside_a_file", "not_writable"])
def test_out_that_cannot_hold_a_report_is_refused_before_any_work(tmp_path: Path, kind: str) -> None:
    store = tmp_path / "s.zarr"
    write_synthetic_runs(store, range(2))
    (tmp_path / "notes.txt").write_text("mine")
    out = {"file": tmp_path / "notes.txt", "inside_a_file": tmp_path / "notes.txt" / "report",
           "not_writable": Path("/sys/takeoff-report-test")}[kind]  # /sys refuses new entries even to root
    done = run("takeoff-report", str(store), "--out", str(out), "--quiet", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0] and "--out" in lines[0], done.stderr
    assert done.stdout == "" and (tmp_path / "notes.txt").read_text() == "mine"


def test_object_store_url_without_its_package_is_one_line(tmp_path: Path) -> None:
    if importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed here: the URL would be tried for real")
    url = "s3://takeoff-bucket/results.zarr"
    done = run("takeoff-report", url, "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and "s3fs" in lines[0], done.stderr
    assert not (tmp_path / "r").exists()


def peak_rss_of_report(store: Path, out: Path) -> int:
    """Run ``takeoff-report`` in a fresh wrapper process; return the report process's peak RSS in bytes."""
    code = (
        "import resource, subprocess, sys; "
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "sys.stderr.write(done.stderr); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if done.returncode == 0 else -1)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(BIN / "takeoff-report"), str(store), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    peak = int(done.stdout.strip().splitlines()[-1])
    assert peak > 0, done.stderr
    return peak * 1024


@pytest.mark.slow
def test_large_sweep_is_analysed_in_bounded_memory(tmp_path: Path) -> None:
    """A 400 MiB sweep of 125 runs is analysed run by run: memory grows far less than the data.

    The data are as large as 500 runs of three domains (the size this test had), held in
    30 domains instead: the report's time grows with runs and worlds (fits, one read per
    run), hardly with domains, so a quarter of the runs costs about a quarter of the time.
    """
    shape = {"seeds": 4, "cycles": 1500, "domains": tuple(f"domain{i}" for i in range(30))}
    small, big = tmp_path / "small.zarr", tmp_path / "big.zarr"
    write_synthetic_runs(small, range(5), **shape)
    write_synthetic_runs(big, range(125), **shape)
    results.SweepStore(big).consolidate()
    data_bytes = sum(v.nbytes for v in results.open_sweep(big).data_vars.values())
    assert data_bytes > 380 * 2**20, data_bytes  # far above the report's own memory (about 250 MiB)
    base = peak_rss_of_report(small, tmp_path / "small-report")
    peak = peak_rss_of_report(big, tmp_path / "big-report")
    print(
        f"125 runs: data {data_bytes / 2**20:.0f} MiB; report peak RSS {peak / 2**20:.0f} MiB "
        f"(5 runs: {base / 2**20:.0f} MiB)"
    )
    assert len(pd.read_csv(tmp_path / "big-report" / "summary.csv")) == 125 * 4
    assert peak - base < 0.5 * data_bytes, (peak, base, data_bytes)


def test_report_page_links_every_csv_and_says_what_columns_mean(limit: Path) -> None:
    out = limit / "report"
    page = (out / "report.html").read_text()
    for name in ("summary.csv", "variants.csv", "columns.csv", "phase.csv"):
        assert (out / name).exists() and f"href='{name}'" in page, name
    columns = pd.read_csv(out / "columns.csv")
    summary = pd.read_csv(out / "summary.csv")
    documented = set(columns.loc[columns["file"] == "summary.csv", "column"])
    assert documented == set(summary.columns)
    assert columns.loc[columns["column"] == "goodhart_gap", "unit"].iat[0] == "fraction of items"
    assert "<th>growth law</th>" in page and "hyperbolic" in page


@pytest.mark.parametrize(
    "args, says",
    [
        (["--replicate", "nope.key"], "--replicate nope.key: not a parameter"),
        (["--phase", "loop.propose.returns"], "give two different parameters"),
        (["--phase", "loop.propose.returns,run.seed"], "run.seed is not a swept parameter"),
    ],
)
def test_bad_replicate_or_phase_is_one_line_exit_2(limit: Path, tmp_path: Path, args: list[str],
                                                   says: str) -> None:
    done = run("takeoff-report", f"{limit}/sweep/results.zarr", "--out", str(tmp_path / "r"), *args,
               cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "r").exists()


def test_a_rerun_replaces_its_own_files_and_nothing_else(limit: Path, tmp_path: Path) -> None:
    one = run("takeoff", "+experiment=deterministic", f"hydra.run.dir={tmp_path}/one", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    out = tmp_path / "report"
    first = run("takeoff-report", f"{limit}/sweep/results.zarr", "--out", str(out), "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (out / "phase.png").exists()
    (out / "mine.txt").write_text("not the report's")
    second = run("takeoff-report", f"{tmp_path}/one/results.zarr", "--out", str(out), "--quiet", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    # One run has no swept parameter: the earlier report's phase diagram goes, the user's file stays.
    assert not (out / "phase.png").exists() and not (out / "phase.csv").exists()
    assert (out / "mine.txt").read_text() == "not the report's"
    page = (out / "report.html").read_text()
    assert "No phase diagram" in page and "guard.mode=" in page and "[all]" not in page
