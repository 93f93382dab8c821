"""The Dask launcher's work: compose and validate every job, run them, report.

1. Compose every job's config in the driver (Hydra's config loader) and
   validate it; any bad value stops the sweep before a job starts.
2. Skip runs already complete in the store (resume), unless ``rerun``.
3. Run the rest: in this process (``cluster=sync``), or on a Dask cluster
   started lazily (LocalCluster, an existing scheduler, or dask-jobqueue) that
   receives plain :class:`~harness.job.JobSpec` objects, never Hydra's state.
4. Record failures (exceptions, dead workers) in the store, print a table of
   them, and exit non-zero if any job failed.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, setup_globals
from omegaconf import OmegaConf, open_dict

import results
from harness.compose import default_store, job_spec
from harness.job import JobResult, JobSpec, run_job
from harness.launcher.cluster import open_client
from harness.launcher.config import CLUSTERS
from loops.params import ConfigError

log = logging.getLogger(__name__)


class SweepFailed(SystemExit):
    """Some jobs of the sweep failed (exit code 1); the table was printed."""


def _params(launcher: Any) -> dict[str, Any]:
    cfg = launcher.config.hydra.launcher
    params = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(params, dict)
    if params.get("cluster") not in CLUSTERS:
        raise ConfigError(
            f"hydra.launcher.cluster={params.get('cluster')!r} is unknown; known: {list(CLUSTERS)}"
        )
    for key in ("n_workers", "jobs", "retries"):
        if int(params.get(key, 0)) < 0:
            raise ConfigError(f"hydra.launcher.{key}={params[key]!r} is out of range; allowed: >= 0")
    return params


def compose_jobs(
    launcher: Any,
    job_overrides: Sequence[Sequence[str]],
    initial_job_idx: int,
) -> tuple[list[JobSpec], list[Any]]:
    """Compose and validate every job's config; return the job specs and configs."""
    loader = launcher.hydra_context.config_loader
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    store = default_store(launcher.config, base_dir=str(sweep_dir))
    specs, configs = [], []
    for offset, overrides in enumerate(job_overrides):
        index = initial_job_idx + offset
        cfg = loader.load_sweep_config(launcher.config, list(overrides))
        with open_dict(cfg):
            cfg.hydra.job.id = index
            cfg.hydra.job.num = index
        try:
            specs.append(
                job_spec(
                    cfg,
                    filter_overrides(overrides),
                    index=index,
                    store=store,
                    job_dir=str(sweep_dir / str(index)),
                )
            )
        except ConfigError as err:
            raise ConfigError(f"job #{index} ({' '.join(overrides)}): {err}") from None
        configs.append(cfg)
    return specs, configs


def launch(launcher: Any, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
    """Run a batch of jobs; see the module docstring."""
    setup_globals()
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    for noisy in ("distributed", "tornado", "bokeh"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        params = _params(launcher)
        specs, configs = compose_jobs(launcher, job_overrides, initial_job_idx)
        store = results.SweepStore(specs[0].store) if specs else None
    except (ConfigError, results.StoreError) as err:
        print(f"takeoff: {err}", file=sys.stderr)
        print("takeoff: no job was started", file=sys.stderr)
        raise SystemExit(2) from None
    assert store is not None
    Path(str(launcher.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)

    status = store.status()
    todo = [s for s in specs if params["rerun"] or status.get(s.run_id) != "done"]
    skipped = len(specs) - len(todo)
    print(
        f"takeoff: {len(specs)} jobs, {skipped} already complete in {store.url}, {len(todo)} to run",
        flush=True,
    )
    outcomes: dict[int, JobResult | BaseException] = {}
    if todo:
        if params["rerun"]:
            # A forced rerun replaces the runs it recomputes; they are the store's own.
            for spec in todo:
                store.forget(spec.run_id)
        outcomes = _execute(todo, params)
    failed = {i: o for i, o in outcomes.items() if isinstance(o, BaseException)}
    by_index = {s.index: s for s in specs}
    for index, error in failed.items():
        spec = by_index[index]
        store.write_failure(
            spec.run_id,
            params=dict(spec.params),
            config_yaml=spec.config_yaml,
            overrides=spec.overrides,
            error=_one_line(error),
        )
    store.consolidate()

    returns = []
    for spec, cfg in zip(specs, configs, strict=True):
        outcome = outcomes.get(spec.index)
        ret = JobReturn(
            overrides=list(spec.overrides),
            cfg=cfg,
            hydra_cfg=None,
            working_dir=spec.job_dir,
            task_name=str(launcher.config.hydra.job.name),
            status=JobStatus.COMPLETED,
        )
        ret.return_value = outcome if isinstance(outcome, JobResult) else None
        returns.append(ret)
    _report(specs, failed, store)
    if failed:
        raise SweepFailed(1)
    return returns


def _execute(todo: list[JobSpec], params: dict[str, Any]) -> dict[int, JobResult | BaseException]:
    from tqdm import tqdm

    outcomes: dict[int, JobResult | BaseException] = {}
    bar = tqdm(total=len(todo), desc="jobs", unit="job", file=sys.stdout, dynamic_ncols=True, disable=None)
    try:
        if params["cluster"] == "sync" and not params["address"]:
            for spec in todo:
                outcomes[spec.index] = _run_here(spec, int(params["retries"]))
                bar.update()
            return outcomes
        with open_client(params) as client:
            from distributed import as_completed

            futures = {
                client.submit(
                    run_job,
                    spec,
                    key=f"job-{spec.index}-{spec.run_id}",
                    retries=int(params["retries"]),
                    pure=False,
                ): spec
                for spec in todo
            }
            for future in as_completed(futures):
                spec = futures[future]
                try:
                    outcomes[spec.index] = future.result()
                except Exception as err:  # noqa: BLE001  (a job's failure is data, recorded below)
                    outcomes[spec.index] = err
                bar.update()
    except KeyboardInterrupt:
        bar.close()
        print(
            "\ntakeoff: interrupted; workers shut down; the store keeps every run completed so far. "
            "Run the same command again to finish the sweep.",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    finally:
        bar.close()
    return outcomes


def _run_here(spec: JobSpec, retries: int) -> JobResult | BaseException:
    for attempt in range(retries + 1):
        try:
            return run_job(spec)
        except Exception as err:  # noqa: BLE001  (recorded as a failed job)
            if attempt == retries:
                return err
    raise AssertionError("unreachable")


def _one_line(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text.splitlines()[0] if text else type(error).__name__


def _report(specs: list[JobSpec], failed: dict[int, BaseException], store: results.SweepStore) -> None:
    if failed:
        by_index = {s.index: s for s in specs}
        print(f"\ntakeoff: {len(failed)} of {len(specs)} jobs failed:", file=sys.stderr)
        print(f"  {'job':>4}  {'overrides':<50}  error", file=sys.stderr)
        for index in sorted(failed):
            overrides = " ".join(by_index[index].overrides) or "(none)"
            print(f"  {index:>4}  {overrides:<50}  {_one_line(failed[index])}", file=sys.stderr)
    print(f"\nstore: {store.url}")
    print(f"next:  takeoff-report {store.url} --out {os.path.join(os.path.dirname(store.url), 'report')}")
