"""The design sweeper's work: plan the jobs, hand them to the launcher, record the design.

The design is recorded in the store (``SweepStore.write_design``) once the
launcher has composed and validated every job and run what it could: after
the sweep, also when some jobs failed or the sweep was interrupted, never
when a bad value stopped it before any job started (then no store is made).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from harness.design.plan import Plan, make_plan, sweep_command
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
        print(f"takeoff: {err}", file=sys.stderr)
        print("takeoff: no job was started", file=sys.stderr)
        raise SystemExit(2) from None
    jobs = plan.jobs()
    cells = len(plan.cells())
    print(f"takeoff: {plan.method} design, n={plan.n}, {len(plan.params)} parameters "
          f"({', '.join(p.key for p in plan.params)}): {len(plan.rows)} runs"
          + (f" x {cells} grid cells" if cells > 1 else ""), flush=True)
    size = max_batch_size or max(len(jobs), 1)
    return plan, [jobs[i:i + size] for i in range(0, len(jobs), size)]


def record_design(sweeper: Any) -> str | None:
    """Write the sweeper's design into its store; return the store's URL (None when there is no store)."""
    import results
    from harness.compose import default_store

    config = sweeper.config
    store_url = default_store(config, base_dir=str(config.hydra.sweep.dir))
    try:
        store = results.SweepStore(store_url, create=False)
    except results.StoreError:
        return None
    command = sweep_command(list(config.hydra.overrides.hydra), list(config.hydra.overrides.task), store.url)
    store.write_design(sweeper.plan.record(command))
    log.info("recorded the %s design in %s", sweeper.plan.method, store.url)
    return store.url


def run(sweeper: Any, sweep: Callable[[], Any]) -> Any:
    """Run ``sweep`` (Hydra's batching and launching), then record the design (see the module docstring)."""
    try:
        returns = sweep()
    except SystemExit as stop:
        if stop.code != 2 and sweeper.plan is not None:
            record_design(sweeper)
        raise
    except KeyboardInterrupt:
        if sweeper.plan is not None:
            record_design(sweeper)
        raise
    record_design(sweeper)
    return returns
