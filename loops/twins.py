"""Which source each compiled twin mirrors, and whether it still does.

A twin in ``loops/compiled/`` gives the bits of the numpy code it mirrors only
as long as neither changes unseen. ``loops/compiled/twins.json`` records, for
every twin, the digest (:mod:`loops.sources`) of the twin's file and of every
file of the module it mirrors and of the ``loops`` modules that module imports,
transitively, as they were when the two were last checked to agree. When a file
differs from the record, the twin is *stale*: ``engine=auto`` runs the numpy
stages (one warning naming what changed) and ``engine=numba`` stops (see
:mod:`loops.engine`). ``tests/loops/compiled/test_twins.py`` fails in the
repository until the record is renewed.

After changing a stage (or a module it imports) carry the change into its twin,
check the two agree (``pytest tests/loops/compiled``), then renew the record::

    python -m loops.twins --record

Examples
--------
>>> TWINS["loops.compiled.propose"]
'loops.stages.propose'
"""

from __future__ import annotations

import argparse
import functools
import json
import os
from pathlib import Path

from loops import sources

#: Twin module -> the numpy module it mirrors.
TWINS: dict[str, str] = {
    "loops.compiled.benchmark": "loops.stages.benchmark",
    "loops.compiled.propose": "loops.stages.propose",
    "loops.compiled.evaluate": "loops.stages.evaluate",
    "loops.compiled.checkpoint": "loops.stages.checkpoint",
    "loops.compiled.troubleshoot": "loops.stages.troubleshoot",
    "loops.compiled.replicate": "loops.stages.replicate",
    "loops.compiled.compute": "loops.driver",
    "loops.compiled.recorder": "loops.recorder",
    "loops.compiled.random": "loops.random",
    "loops.compiled.elementary": "loops.elementary",
    "loops.compiled._common": "loops.suite",
}

#: The checked-in record of the sources each twin was last checked against.
RECORD = Path(__file__).resolve().parent / "compiled" / "twins.json"

#: Set to 1 while checking the twins against the numpy code (the test suite does): the twins run
#: even when the record is out of date, so that they can be compared bit for bit.
VERIFYING = "TAKEOFF_VERIFY_TWINS"

#: What a developer does about a stale twin.
RENEW = ("carry the change into the compiled twin, check it with `pytest tests/loops` "
         "(which runs the twins against the numpy code), then run `python -m loops.twins --record`")


def _relative(path: Path) -> str:
    return path.relative_to(sources.ROOT).as_posix()


def tied_files(twin: str) -> list[Path]:
    """Return the files ``twin`` is tied to: itself, its numpy module and what that imports."""
    own = sources.module_file(twin)
    if own is None:
        raise FileNotFoundError(f"compiled twin {twin!r} has no source file")
    return sorted({own, *sources.closure([TWINS[twin]])})


def current() -> dict[str, dict[str, str]]:
    """Return, per twin, the digest of every file it is tied to as the tree is now."""
    return {twin: {_relative(path): sources.file_digest(path) for path in tied_files(twin)}
            for twin in TWINS}


def recorded() -> dict[str, dict[str, str]]:
    """Return the checked-in record (empty when there is none)."""
    if not RECORD.is_file():
        return {}
    data: dict[str, dict[str, str]] = json.loads(RECORD.read_text())["twins"]
    return data


@functools.cache
def stale() -> dict[str, list[str]]:
    """Return the stale twins: twin module -> the files that differ from the record.

    Computed once per process; empty while the twins are being verified (:data:`VERIFYING`).
    """
    if os.environ.get(VERIFYING) == "1":
        return {}
    return differences()


def differences() -> dict[str, list[str]]:
    """Return twin module -> the files that differ from the record (always computed afresh)."""
    now, then = current(), recorded()
    changed: dict[str, list[str]] = {}
    for twin, files in now.items():
        before = then.get(twin, {})
        diff = sorted(name for name in set(files) | set(before) if files.get(name) != before.get(name))
        if diff:
            changed[twin] = diff
    return changed


def explain(changed: dict[str, list[str]]) -> str:
    """Return one sentence naming the stale twins and the files that changed."""
    files = sorted({name for names in changed.values() for name in names})
    twins = ", ".join(sorted(twin.rpartition(".")[2] for twin in changed))
    return (f"{', '.join(files)} changed since the compiled twins ({twins}) were checked against "
            f"them (loops/compiled/twins.json)")


def record() -> Path:
    """Write the record of the tree as it is now and return its path."""
    body = {"about": "Sources each compiled twin was last checked against (python -m loops.twins --record); "
                     "see loops/twins.py.",
            "twins": current()}
    RECORD.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n")
    stale.cache_clear()
    return RECORD


def main(argv: list[str] | None = None) -> int:
    """``python -m loops.twins [--record]``: report stale twins, or renew the record."""
    parser = argparse.ArgumentParser(prog="python -m loops.twins", description=__doc__.split("\n")[0])
    parser.add_argument("--record", action="store_true",
                        help="record the sources as they are now (after checking the twins agree)")
    args = parser.parse_args(argv)
    if args.record:
        print(f"recorded {len(TWINS)} twins in {record()}")
        return 0
    changed = differences()
    if changed:
        print(explain(changed) + "; " + RENEW)
        return 1
    print(f"all {len(TWINS)} compiled twins match their sources")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
