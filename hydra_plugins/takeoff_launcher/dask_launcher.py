"""Hydra discovers launchers under ``hydra_plugins``; the work is in ``harness.launcher``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from harness.launcher.config import register

register()


class DaskLauncher(Launcher):
    """Run a sweep's jobs on a Dask cluster (see ``harness.launcher.config``)."""

    def __init__(self, **params: Any) -> None:
        self.params = params
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None
        #: Called with the sweep's ``results.SweepStore`` once every job is composed and validated,
        #: before any job starts (the design sweeper keeps its design there); a ``StoreError`` it
        #: raises stops the sweep with exit code 2.
        self.before_jobs: Callable[[Any], None] | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        """Keep what ``launch`` needs."""
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """Run the jobs; see ``harness.launcher._core.launch``."""
        from harness.launcher import _core

        return _core.launch(self, job_overrides, initial_job_idx)
