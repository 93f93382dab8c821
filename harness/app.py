"""The ``takeoff`` command: the Hydra app.

``takeoff [overrides]`` runs one configuration and writes it to the store;
``takeoff -m [sweep overrides]`` runs a sweep on the Dask launcher. Bad
configuration fails before anything is simulated, with the key, the value and
what is allowed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

#: conf/ sits next to the packages in the source tree (an editable install).
CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")


def task(cfg: Any) -> Any:
    """Run one job in this process (single runs, and Hydra's basic launcher)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    import results
    from harness.compose import default_store, job_spec
    from harness.job import run_job
    from loops.params import ConfigError

    hydra = HydraConfig.get()
    multirun = hydra.mode == RunMode.MULTIRUN
    try:
        store = default_store(cfg, base_dir=hydra.sweep.dir if multirun else hydra.runtime.output_dir,
                              key="hydra.sweep.dir" if multirun else "hydra.run.dir")
        index = int(OmegaConf.select(hydra, "job.num", default=0))  # type: ignore[arg-type]  # unset in one run
        spec = job_spec(cfg, list(hydra.overrides.task), index=index, store=store,
                        log_file=str(Path(hydra.runtime.output_dir) / "job.log"))
        sweep_store = results.SweepStore(store)
    except (ConfigError, results.StoreError) as err:
        print(f"takeoff: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    if sweep_store.is_done(spec.run_id):
        print(f"run {spec.run_id} is already in {store}; nothing to do")
        return None
    try:
        result = run_job(spec)
    except ConfigError as err:  # found when the run starts: it would not fit in memory
        print(f"takeoff: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    if not multirun:
        print(f"wrote run {result.run_id} ({result.seconds:.2f} s) to {store}")
        print(f"next: takeoff-report {store} --out report")
    return result


class OutputDirCheck(Callback):
    """Hydra callback: stop with one line and exit 2 when the output directory cannot be used.

    Hydra makes ``hydra.run.dir`` / ``hydra.sweep.dir`` itself, and a file or a
    read-only place there ends in a traceback. This runs first (``hydra.callbacks``
    in ``conf/config.yaml``).
    """

    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        """Check ``hydra.run.dir`` before Hydra makes it."""
        _check_dir(str(config.hydra.run.dir), "hydra.run.dir")

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        """Check ``hydra.sweep.dir`` before the sweeper makes it."""
        _check_dir(str(config.hydra.sweep.dir), "hydra.sweep.dir")


def _check_dir(path: str, key: str) -> None:
    from harness.compose import writable_dir
    from loops.params import ConfigError

    try:
        writable_dir(path, key)
    except ConfigError as err:
        print(f"takeoff: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def main() -> None:
    """Console entry point ``takeoff``."""
    import hydra

    from harness.config import register_configs

    register_configs()
    app = hydra.main(config_path=CONF_DIR, config_name="config", version_base=None)(task)
    app()


if __name__ == "__main__":
    main()
