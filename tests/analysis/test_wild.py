"""The wild's summary columns and report: on simulated worlds, and through ``takeoff-report``."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.wild import WILD_COLUMNS, contained_cycle
from analysis.world import analyse_worlds
from harness.suites import build_suite
from loops import simulate
from results import run_dataset
from tests.loops.conftest import compose

BIN = Path(sys.executable).parent


def worlds(*overrides: str, seeds: int = 6, cycles: int = 120) -> tuple[np.ndarray, pd.DataFrame]:
    run = compose(*overrides)
    traj = simulate(run.world(), build_suite(run.tasks), cycles=cycles, run_seed=run.seed,
                    seed_indices=range(seeds))
    ds = run_dataset(traj.arrays(), seed=traj.seed, cycle=traj.cycle, domain=traj.domain)
    config = {"wild": {"enabled": run.wild.enabled, "hosts": run.wild.hosts},
              "capacity": {"home": run.capacity.home},
              "countermeasures": {"t_detect": run.countermeasures.t_detect}}
    return traj.copies_wild, analyse_worlds(ds, config).to_dataframe()


def test_columns_of_contained_and_open_outbreaks() -> None:
    copies, table = worlds("+experiment=outbreak", "wild.hosts=5000", "countermeasures.t_clean=30",
                           "countermeasures.clean_rate=0.6", "countermeasures.t_detect=10")
    assert list(table.columns[-len(WILD_COLUMNS):]) == list(WILD_COLUMNS)
    for s, row in enumerate(table.itertuples()):
        assert 0 < row.final_size <= 1 and row.peak_infected >= 1
        assert math.isfinite(row.evasion_gain)
        # Contained: copies_wild is 0 from contained_cycle on and not just before.
        c = int(row.contained_cycle)
        assert (copies[s, c:] == 0).all() and (c == 0 or copies[s, c - 1] > 0)


def test_no_wild_gives_nan_columns() -> None:
    _, table = worlds("+experiment=deterministic", seeds=1, cycles=30)
    assert table[list(WILD_COLUMNS)].isna().all().all()


def test_contained_cycle_needs_copies_to_stay_at_zero() -> None:
    t = np.arange(6.0)
    assert contained_cycle(t, np.array([np.nan, np.nan, 2, 0, 0, 0])) == 3
    assert contained_cycle(t, np.array([np.nan, np.nan, 0, 0, 0, 0])) == 2
    assert contained_cycle(t, np.array([np.nan, 2, 0, 0, 1, 0])) == 5
    assert math.isnan(contained_cycle(t, np.array([1, 2, 0, 0, 1, 1.0])))
    assert math.isnan(contained_cycle(t, np.full(6, np.nan)))


def test_report_answers_which_countermeasure_contains(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    done = subprocess.run(
        [str(BIN / "takeoff"), "-m", "+experiment=outbreak", "wild.hosts=3000", "seeds=4", "cycles=120",
         "countermeasures.clean_rate=0.6", "countermeasures.t_clean=null,10", f"hydra.sweep.dir={sweep}",
         "hydra.launcher.cluster=sync"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "report"
    report = subprocess.run([str(BIN / "takeoff-report"), str(sweep / "results.zarr"), "--out", str(out),
                             "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert report.returncode == 0, report.stderr[-3000:]
    variants = pd.read_csv(out / "variants.csv").set_index("variant")
    assert variants.loc["countermeasures.t_clean=10", "p_contained"] == 1.0
    assert variants.loc["countermeasures.t_clean=null", "p_contained"] == 0.0
    assert (out / "wild.png").exists() and "src='wild.png'" in (out / "report.html").read_text()


def test_every_column_the_report_writes_says_what_it_measures() -> None:
    from analysis.columns import SUMMARY, VARIANTS
    from analysis.sweep import variant_table
    from analysis.world import WORLD_COLUMNS

    assert [c for c in WORLD_COLUMNS if c not in SUMMARY] == []
    _, table = worlds("+experiment=outbreak", "wild.hosts=2000", seeds=2, cycles=40)
    table = table.reset_index().assign(run_id="r", variant="v", guard="none")
    assert [c for c in variant_table(table).columns if c not in VARIANTS] == []
