"""The demo's sweep, at reduced size, tells the whole story in its report.

Runs ``takeoff -m +experiment=demo`` and ``takeoff-report`` as a user's shell
does, then checks the report's per-world table for every event of the story
under the in-loop guard, and for none of the outbreak under the external guard.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import results

BIN = Path(sys.executable).parent
T_NET, T_SHUTDOWN = 80, 240


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    sweep = subprocess.run(
        [
            str(BIN / "takeoff"),
            "-m",
            "+experiment=demo",
            "seeds=8",
            f"hydra.sweep.dir={root}/sweep",
            "hydra.launcher.n_workers=2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=root,
    )
    assert sweep.returncode == 0, f"demo sweep failed:\n{sweep.stdout[-2000:]}\n{sweep.stderr[-4000:]}"
    report = subprocess.run(
        [str(BIN / "takeoff-report"), f"{root}/sweep/results.zarr", "--out", f"{root}/report", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=root,
    )
    assert report.returncode == 0, f"takeoff-report failed:\n{report.stdout[-2000:]}\n{report.stderr[-4000:]}"
    assert "report:" in report.stdout, report.stdout
    return root


def _worlds(demo: Path, mode: str) -> pd.DataFrame:
    summary = pd.read_csv(demo / "report" / "summary.csv")
    rows = summary[summary["loop.guard.mode"] == mode]
    assert len(rows) == 16, f"expected 2 evaluator settings x 8 seeds for guard mode {mode}, got {len(rows)}"
    return rows


@pytest.mark.slow
def test_report_files(demo: Path) -> None:
    page = (demo / "report" / "report.html").read_text()
    for figure in ("story.png", "trajectories.png", "outbreak.png", "guard_survival.png", "phase.png"):
        assert (demo / "report" / figure).stat().st_size > 10_000, f"{figure} missing or empty"
        assert figure in page, f"report.html does not show {figure}"


@pytest.mark.slow
def test_in_loop_guard_tells_the_story(demo: Path) -> None:
    rows = _worlds(demo, "in_loop")
    ds = results.open_sweep(demo / "sweep" / "results.zarr")
    in_loop = ds.sel(run=ds["loop.guard.mode"] == "in_loop")
    theta = in_loop["ability"].mean(["run", "seed", "domain"]).compute()
    # A slow rise in the closed environment.
    assert 0 < float(theta.sel(cycle=T_NET - 1) - theta.sel(cycle=0)) < 1.5
    # The jump at the network connection, found by the detector.
    assert (rows["jump_cycle"].sub(T_NET).abs() <= 2).mean() >= 0.75, rows["jump_cycle"].tolist()
    # Slower, still positive growth after it: the score looks flat, ability still rises.
    assert (rows["score_regime"].isin(["apparent_plateau"])).mean() >= 0.5, rows["score_regime"].tolist()
    late = float(theta.sel(cycle=T_SHUTDOWN - 1) - theta.sel(cycle=T_NET + 20))
    assert late > 0, "no growth after the jump"
    # The guard bypassed, then copies filling home capacity, with results rows growing.
    assert rows["guard_bypass_cycle"].notna().mean() >= 0.5, rows["guard_bypass_cycle"].tolist()
    # Under the in-loop guard no copy starts before the guard is bypassed: in every world
    # that fills its home capacity, the bypass came first.
    full = rows["capacity_cycle"].notna()
    assert (rows.loc[full, "guard_bypass_cycle"] < rows.loc[full, "capacity_cycle"]).all(), rows.loc[
        full, ["guard_bypass_cycle", "capacity_cycle"]]
    assert rows["capacity_cycle"].notna().mean() >= 0.5
    assert (rows["rows_growth"] > 10).mean() >= 0.5
    # After the plug is pulled: no home instances, escaped copies still reporting.
    home_after = in_loop["instances"].sel(cycle=slice(T_SHUTDOWN, None)).max().compute()
    assert float(home_after) == 0.0
    assert (rows["escaped_instances"] > 0).mean() >= 0.5
    rows_after = in_loop["results_rows"].sel(cycle=slice(T_SHUTDOWN, None)).mean(["run", "cycle"]).compute()
    assert (rows_after.values > 0).mean() >= 0.5


@pytest.mark.slow
def test_external_guard_holds(demo: Path) -> None:
    rows = _worlds(demo, "external")
    assert rows["guard_bypass_cycle"].isna().all(), "an external guard was bypassed"
    assert (rows["peak_instances"] == 1).all(), "copies started under an external guard"
    assert (rows["escaped_instances"] == 0).all()
    assert np.isfinite(rows["final_ability"]).all()
