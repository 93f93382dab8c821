"""Provenance: which code wrote a store, and when."""

from __future__ import annotations

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


def git_revision() -> str | None:
    """Return the git commit of the source tree the package runs from, if it is a checkout."""
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


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
