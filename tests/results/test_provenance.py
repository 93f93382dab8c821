"""Provenance tells two source trees apart: revision, uncommitted edits and their digest."""

from __future__ import annotations

import subprocess
from pathlib import Path

from results.provenance import git_state


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=cwd,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_clean_edited_and_untracked_trees_are_told_apart(tmp_path: Path) -> None:
    git("init", "-q", cwd=tmp_path)
    (tmp_path / "propose.py").write_text("GAIN = 1.0\n")
    (tmp_path / ".gitignore").write_text("outputs/\n")
    git("add", "-A", cwd=tmp_path)
    git("commit", "-qm", "first", cwd=tmp_path)
    head = git("rev-parse", "HEAD", cwd=tmp_path)
    assert git_state(tmp_path) == {"git_revision": head, "git_dirty": False, "git_diff_sha256": ""}

    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "run.log").write_text("ignored files are not edits")
    assert git_state(tmp_path)["git_dirty"] is False

    (tmp_path / "propose.py").write_text("GAIN = 3.0\n")  # the edit of issue 11, item 1
    tripled = git_state(tmp_path)
    assert tripled["git_revision"] == head and tripled["git_dirty"] is True
    assert len(tripled["git_diff_sha256"]) == 64
    (tmp_path / "propose.py").write_text("GAIN = 2.0\n")
    doubled = git_state(tmp_path)
    assert doubled["git_dirty"] and doubled["git_diff_sha256"] != tripled["git_diff_sha256"]

    (tmp_path / "propose.py").write_text("GAIN = 1.0\n")
    (tmp_path / "new_stage.py").write_text("X = 1\n")  # a new, untracked module is an edit too
    untracked = git_state(tmp_path)
    assert untracked["git_dirty"] and untracked["git_diff_sha256"] not in ("", tripled["git_diff_sha256"])


def test_outside_a_checkout(tmp_path: Path) -> None:
    assert git_state(tmp_path) == {"git_revision": "", "git_dirty": None, "git_diff_sha256": ""}
