"""The design sweeper's work: plan the jobs, keep the design in the store, hand the jobs to the launcher.

The design goes into the store's root attributes (``SweepStore.keep_design``)
before any job starts: the Dask launcher calls :func:`keep_design` once it has
composed and validated every job and opened the store, so a bad value stops
the sweep with no store made, and a store that holds another design stops it
(exit 2) with no job started and nothing written. A store that holds the same
design (a resumed sweep, the command that fills failed runs' holes) keeps it.
Under another launcher the store's design is checked before the sweep and
recorded after it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from harness.design.plan import Plan, differences, make_plan, sweep_command
from loops.params import ConfigError

log = logging.getLogger(__name__)


def split_jobs(overrides: list[Any], method: str, n: int, seed: int,
               max_batch_size: int | None) -> tuple[Plan, list[list[list[str]]]]:
    """Return the plan and its jobs in batches of at most ``max_batch_size`` (None: one batch).

    A bad method, size, seed or range prints one line and exits with code 2
    before any job starts.
    """
    try:
        if max_batch_size is not None and max_batch_size < 1:
            raise ConfigError(f"hydra.sweeper.max_batch_size={max_batch_size} is out of range; "
                              f"allowed: >= 1, or null for one batch")
        plan = make_plan(overrides, method=method, n=n, seed=seed)
    except ConfigError as err:
        _stop(str(err))
    jobs = plan.jobs()
    cells = len(plan.cells())
    print(f"takeoff: {plan.method} design, n={plan.n}, {len(plan.params)} parameters "
          f"({', '.join(p.key for p in plan.params)}): {len(plan.rows)} runs"
          + (f" x {cells} grid cells" if cells > 1 else ""), flush=True)
    size = max_batch_size or max(len(jobs), 1)
    return plan, [jobs[i:i + size] for i in range(0, len(jobs), size)]


def _stop(message: str) -> Any:
    print(f"takeoff: {message}", file=sys.stderr)
    print("takeoff: no job was started", file=sys.stderr)
    raise SystemExit(2) from None


def record(sweeper: Any, store_url: str) -> dict[str, Any]:
    """Return the sweeper's design record, with the command that reruns it into ``store_url``."""
    config = sweeper.config
    command = sweep_command(list(config.hydra.overrides.hydra), list(config.hydra.overrides.task), store_url)
    design: dict[str, Any] = sweeper.plan.record(command)
    return design


def keep_design(sweeper: Any, store: Any) -> None:
    """Record the sweeper's design in ``store`` (a ``results.SweepStore``), or check it is the store's.

    Raises
    ------
    results.DesignConflict
        If the store holds another design (nothing is written).
    """
    if not store.keep_design(record(sweeper, store.url), differences):
        log.info("%s holds this %s design already: kept", store.url, sweeper.plan.method)


def _existing_store(sweeper: Any) -> Any:
    """Return the sweep's store if there is one already (None otherwise)."""
    import results
    from harness.compose import default_store

    config = sweeper.config
    try:
        return results.SweepStore(default_store(config, base_dir=str(config.hydra.sweep.dir)), create=False)
    except results.StoreError:
        return None


def _hooked(sweeper: Any) -> bool:
    """Return True if the sweeper's launcher keeps the design before any job (the Dask launcher)."""
    return hasattr(sweeper.launcher, "before_jobs")


def check_before(sweeper: Any) -> None:
    """Under a launcher without ``before_jobs``, stop (exit 2) if the store holds another design.

    Called once the plan is made, before the launcher gets any job.
    """
    import results

    if _hooked(sweeper):
        return
    store = _existing_store(sweeper)
    if store is not None:
        try:
            store.check_design(record(sweeper, store.url), differences)
        except results.StoreError as err:
            _stop(str(err))


def run(sweeper: Any, sweep: Callable[[], Any]) -> Any:
    """Run ``sweep`` (Hydra's batching and launching) with the design kept in the store (module docstring)."""
    if _hooked(sweeper):  # the Dask launcher: the design is kept before any job starts
        sweeper.launcher.before_jobs = lambda store: keep_design(sweeper, store)
        return sweep()
    try:
        returns = sweep()
    except SystemExit as stop:
        if stop.code != 2:
            _record_after(sweeper)
        raise
    except KeyboardInterrupt:
        _record_after(sweeper)
        raise
    _record_after(sweeper)
    return returns


def _record_after(sweeper: Any) -> None:
    """Keep the design in the store the sweep wrote (launchers without ``before_jobs``)."""
    store = _existing_store(sweeper)
    if store is not None and sweeper.plan is not None:
        keep_design(sweeper, store)
