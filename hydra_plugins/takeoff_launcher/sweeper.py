"""The sweeper shim: Hydra's basic sweeper without its duplicate check (see ``TakeoffSweeperConf``)."""

from __future__ import annotations

from collections.abc import Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

from harness.launcher.config import register
from hydra_plugins.takeoff_launcher.dask_launcher import DaskLauncher

register()


class TakeoffSweeper(BasicSweeper):
    """Sweep like Hydra's basic sweeper; leave the per-job composition check to the Dask launcher."""

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        """Compose every job to catch errors early, unless the Dask launcher will (before any job)."""
        if isinstance(self.launcher, DaskLauncher):
            return
        super().validate_batch_is_legal(batch)
