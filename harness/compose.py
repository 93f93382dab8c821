"""Turn a composed Hydra config into a :class:`~harness.job.JobSpec` (driver side)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.config import RunConfig, to_run_config
from harness.job import JobSpec, identity, override_params

STORE_NAME = "results.zarr"


def default_store(cfg: Any, *, base_dir: str, key: str = "hydra.sweep.dir") -> str:
    """Return the store a job writes to: ``store``, else ``results.zarr`` in ``base_dir``.

    ``base_dir`` is Hydra's run directory for one run, its sweep directory for
    a multirun, so all jobs of a sweep share one store; it must be a writable
    directory (:func:`writable_dir`).

    Raises
    ------
    loops.params.ConfigError
        Naming ``key`` when ``base_dir`` is a file, or cannot be created or written.
    """
    writable_dir(str(base_dir), key)
    if cfg.get("store"):
        store = str(cfg.store)
        return store if "://" in store else os.path.abspath(store)
    return os.path.abspath(os.path.join(str(base_dir), STORE_NAME))


def writable_dir(path: str, key: str) -> None:
    """Check that directory ``path`` can be made and written, without making it.

    The nearest existing directory on the way to ``path`` must take a file
    (one is made and removed at once), so a read-only file system counts
    even for root.

    Raises
    ------
    loops.params.ConfigError
        Naming ``key`` and what is wrong (a file on the way, read-only, no permission).
    """
    import tempfile

    from loops.params import ConfigError

    where = Path(path).absolute()
    existing = next(p for p in (where, *where.parents) if p.exists())
    if not existing.is_dir():
        what = "is a file" if existing == where else f"is under a file ({existing})"
        raise ConfigError(f"{key}={path!r} {what}, not a directory; choose a directory ({key}=DIR)")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ConfigError(f"{key}={path!r} cannot be written ({existing}: {err.strerror or err}); "
                          f"choose a writable directory ({key}=DIR)") from None


def check_memory(run: RunConfig) -> None:
    """Fail before anything is allocated when ``run`` cannot fit in this machine's memory.

    Raises
    ------
    loops.params.ConfigError
        With the estimate and the memory available (:func:`loops.memory.check`).
    """
    from loops import memory

    memory.check(run.world(), seeds=run.seeds, cycles=run.cycles, record_every=run.record.every,
                 domains=len(run.tasks.domains))


def runs_here(cfg: Any) -> bool:
    """Return True when the jobs run on this machine (the launcher's local or sync cluster)."""
    from omegaconf import OmegaConf

    cluster = OmegaConf.select(cfg, "hydra.launcher.cluster", default="local")
    address = OmegaConf.select(cfg, "hydra.launcher.address", default="")
    return cluster in ("local", "sync") and not address


def job_spec(cfg: Any, overrides: Sequence[str], *, index: int, store: str, log_file: str | None) -> JobSpec:
    """Validate a composed job config and package it for a worker.

    Raises
    ------
    loops.params.ConfigError
        When a value is out of range or unknown, or (jobs that run on this
        machine) the run would not fit in its memory.
    """
    return spec_of_run(to_run_config(cfg), overrides, index=index, store=store, log_file=log_file,
                       here=runs_here(cfg))


def spec_of_run(run: RunConfig, overrides: Sequence[str], *, index: int, store: str, log_file: str | None,
                here: bool) -> JobSpec:
    """Package a validated run config for a worker (:func:`job_spec` once the config is converted).

    Raises
    ------
    loops.params.ConfigError
        When ``here`` (the job runs on this machine) and the run would not fit in its memory.
    """
    import results

    if here:
        check_memory(run)
    config = identity(run)
    params = override_params(overrides, config)
    return JobSpec(
        index=index,
        overrides=tuple(overrides),
        params=tuple(sorted(params.items())),
        run=run,
        config=config,
        run_id=results.run_id(config),
        store=store,
        log_file=str(Path(log_file).absolute()) if log_file else None,
    )
