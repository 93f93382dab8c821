"""Turn a composed Hydra config into a :class:`~harness.job.JobSpec` (driver side)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.config import to_run_config
from harness.job import JobSpec, identity, override_params

STORE_NAME = "results.zarr"


def default_store(cfg: Any, *, base_dir: str) -> str:
    """Return the store a job writes to: ``store``, else ``results.zarr`` in ``base_dir``.

    ``base_dir`` is Hydra's run directory for one run, its sweep directory for
    a multirun, so all jobs of a sweep share one store.
    """
    if cfg.get("store"):
        store = str(cfg.store)
        return store if "://" in store else os.path.abspath(store)
    return os.path.abspath(os.path.join(str(base_dir), STORE_NAME))


def job_spec(cfg: Any, overrides: Sequence[str], *, index: int, store: str, job_dir: str | None) -> JobSpec:
    """Validate a composed job config and package it for a worker.

    Raises
    ------
    loops.params.ConfigError
        When a value is out of range or unknown.
    """
    import yaml

    import results

    run = to_run_config(cfg)
    config = identity(run)
    params = override_params(overrides, config)
    return JobSpec(
        index=index,
        overrides=tuple(overrides),
        params=tuple(sorted(params.items())),
        run=run,
        config=config,
        config_yaml=yaml.safe_dump(config, sort_keys=True),
        run_id=results.run_id(config),
        store=store,
        job_dir=str(Path(job_dir).absolute()) if job_dir else None,
    )
