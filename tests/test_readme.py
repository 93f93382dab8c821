"""The README's runnable shell examples run as written (at reduced sizes).

A fenced block opened with ```` ```sh runnable ```` is extracted and run line by
line with bash, in a scratch directory, with the project's ``.venv/bin`` first
on PATH (as after ``source .venv/bin/activate``). ``takeoff`` commands get
``seeds=2 cycles=40`` appended so the examples stay quick; nothing else is
changed. Blocks without the ``runnable`` word (such as the quickstart, which
would reinstall the project) are documentation only.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```sh runnable\n(.*?)^```", re.S | re.M)
REDUCED = ["seeds=2", "cycles=40"]


def runnable_blocks() -> list[str]:
    """Return the runnable shell blocks of README.md, in order."""
    return FENCE.findall((ROOT / "README.md").read_text())


def reduced(line: str) -> str:
    """Append reduced sizes to a ``takeoff`` command; leave other commands alone."""
    words = shlex.split(line)
    if words and words[0] == "takeoff":
        words += REDUCED
    return shlex.join(words)


def test_readme_has_runnable_examples() -> None:
    blocks = runnable_blocks()
    assert len(blocks) >= 2, "README.md lost its runnable examples (```sh runnable fences)"


@pytest.mark.slow
def test_readme_examples_run(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    for block in runnable_blocks():
        for line in block.strip().splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            command = reduced(line)
            done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, (
                f"README command failed: {line!r} (run as {command!r}), exit {done.returncode}\n"
                f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
            )
