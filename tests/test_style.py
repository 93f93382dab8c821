"""Style is enforced, not hoped for: ruff (pycodestyle, pyflakes, isort, pydocstyle numpy) passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["harness", "loops", "results", "analysis", "hydra_plugins", "tests", "benchmarks"]


def test_ruff_passes() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", *PACKAGES], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_mypy_strict_passes() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "mypy")], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
