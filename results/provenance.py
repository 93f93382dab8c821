"""Provenance: which code wrote a store, and when."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any


def package_version() -> str:
    """Return the installed version of the ``takeoff`` distribution, or ``"unknown"``."""
    try:
        return metadata.version("takeoff")
    except metadata.PackageNotFoundError:
        return "unknown"


def _git(*args: str, cwd: Path) -> bytes | None:
    """Return the output of ``git args`` run in ``cwd``, or None when git fails or is absent."""
    try:
        # --no-optional-locks: concurrent sweeps must not race for the checkout's index.lock.
        done = subprocess.run(["git", "--no-optional-locks", *args], cwd=cwd, capture_output=True,
                              timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_revision(where: Path | None = None) -> str | None:
    """Return the git commit of the source tree the package runs from, if it is a checkout."""
    out = _git("rev-parse", "HEAD", cwd=where or Path(__file__).resolve().parent)
    return out.decode().strip() or None if out is not None else None


def git_state(where: Path | None = None) -> dict[str, Any]:
    """Return the revision of the source tree and whether it holds uncommitted changes.

    Parameters
    ----------
    where
        A directory of the checkout to describe; by default the one this
        package runs from.

    Returns
    -------
    dict
        ``git_revision`` (the commit, ``""`` when the package does not run
        from a git checkout), ``git_dirty`` (True when tracked files differ
        from that commit or untracked, not ignored files exist; None outside a
        checkout) and ``git_diff_sha256`` (SHA-256 of ``git diff HEAD`` and of
        the untracked files' names and contents; ``""`` for a clean tree or
        outside a checkout), so that two stores written from the same revision
        with different edits can be told apart.

    Examples
    --------
    >>> sorted(git_state())
    ['git_diff_sha256', 'git_dirty', 'git_revision']
    """
    here = where or Path(__file__).resolve().parent
    top = _git("rev-parse", "--show-toplevel", cwd=here)
    revision = git_revision(here)
    if top is None or revision is None:
        return {"git_revision": "", "git_dirty": None, "git_diff_sha256": ""}
    root = Path(top.decode().strip())
    diff = _git("diff", "HEAD", "--binary", "--no-ext-diff", "--no-color", cwd=root)
    untracked = _git("ls-files", "--others", "--exclude-standard", "-z", cwd=root)
    if diff is None or untracked is None:
        return {"git_revision": revision, "git_dirty": None, "git_diff_sha256": ""}
    names = sorted(n for n in untracked.decode(errors="surrogateescape").split("\0") if n)
    if not diff and not names:
        return {"git_revision": revision, "git_dirty": False, "git_diff_sha256": ""}
    digest = hashlib.sha256(diff)
    for name in names:
        digest.update(b"\0untracked\0" + name.encode(errors="surrogateescape") + b"\0")
        try:
            digest.update((root / name).read_bytes())
        except OSError:  # removed meanwhile, or unreadable: its name still counts
            pass
    return {"git_revision": revision, "git_dirty": True, "git_diff_sha256": digest.hexdigest()}


def now() -> str:
    """Return the current UTC time in ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def config_value(config: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """Return the value at dotted Hydra key ``key`` of a resolved config, or ``default``.

    Examples
    --------
    >>> config_value({"loop": {"guard": {"mode": "in_loop"}}}, "loop.guard.mode")
    'in_loop'
    """
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node
