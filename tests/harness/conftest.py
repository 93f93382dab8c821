"""Helpers for running ``takeoff`` the way a user's shell does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
SMALL = ["seeds=2", "cycles=20"]


def takeoff(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the installed ``takeoff`` console script with ``args``."""
    return subprocess.run([str(BIN / "takeoff"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def popen_takeoff(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start ``takeoff`` in its own process group (so a test can signal it like a terminal)."""
    return subprocess.Popen([str(BIN / "takeoff"), *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def explain(done: subprocess.CompletedProcess[str]) -> str:
    """Return a failed command's output for an assertion message."""
    return f"exit {done.returncode}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    return tmp_path
