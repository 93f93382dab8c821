"""Compose run configs exactly as the ``takeoff`` app does (Hydra's compose API)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The tests compare the compiled twins with the numpy code bit for bit, so they run the twins
# even when loops/compiled/twins.json is out of date; test_twins.py says when it is.
os.environ["TAKEOFF_VERIFY_TWINS"] = "1"

from harness.config import RunConfig, register_configs, to_run_config
from harness.suites import build_suite
from loops.suite import BenchmarkSuite

CONF = str(Path(__file__).resolve().parents[2] / "conf")


def compose(*overrides: str) -> RunConfig:
    """Return the validated run config of ``takeoff <overrides>``."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_configs()
    with initialize_config_dir(config_dir=CONF, version_base=None):
        return to_run_config(hydra_compose("config", overrides=list(overrides)))


@pytest.fixture(scope="session")
def suite() -> BenchmarkSuite:
    return build_suite(compose().tasks)
