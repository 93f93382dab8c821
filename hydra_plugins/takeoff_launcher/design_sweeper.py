"""The design sweeper shim (``hydra/sweeper=design``); the work is in ``harness.design``."""

from __future__ import annotations

from typing import Any

from harness.design.config import register
from hydra_plugins.takeoff_launcher.sweeper import TakeoffSweeper

register()


class DesignSweeper(TakeoffSweeper):
    """Sweep a sampled design crossed with a grid, like the ``takeoff`` sweeper otherwise."""

    def __init__(self, method: str, n: int, seed: int, max_batch_size: int | None = None,
                 params: dict[str, str] | None = None) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.method, self.n, self.seed = method, n, seed
        self.plan: Any = None

    def split_arguments(self, overrides: Any, max_batch_size: int | None) -> list[list[list[str]]]:  # type: ignore[override]
        """Return the design's jobs in batches (see ``harness.design.sweep.split_jobs``)."""
        from harness.design import sweep

        self.plan, batches = sweep.split_jobs(overrides, self.method, self.n, self.seed, max_batch_size)
        sweep.check_before(self)
        return batches

    def sweep(self, arguments: list[str]) -> Any:
        """Run the jobs with the design kept in the store (see ``harness.design.sweep.run``)."""
        from harness.design import sweep

        return sweep.run(self, lambda: super(DesignSweeper, self).sweep(arguments))
