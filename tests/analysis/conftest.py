"""A small sweep that several modules of these tests report on (written once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analysis.test_report_cli import run


@pytest.fixture(scope="package")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the store of 4 runs (2 guard modes x 2 run seeds) of 3 worlds of 30 cycles."""
    root = tmp_path_factory.mktemp("stored")
    done = run("takeoff", "-m", "seeds=3", "cycles=30", "loop.guard.mode=none,in_loop", "seed=range(0,2)",
               "hydra.launcher.cluster=sync", f"hydra.sweep.dir={root}/sweep", cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "sweep" / "results.zarr"
