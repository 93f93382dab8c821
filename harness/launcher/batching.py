"""How a sweep's runs are cut into batches: many short runs per Dask task, sized from a measured run time.

A task costs a few milliseconds to ship and its batch group a few dozen to
write, whatever its size; a story run simulates in tens of milliseconds. So
short runs go many to a task: the first batches (about a quarter of the
sweep's share per worker, at most :data:`FIRST_BATCH` runs) measure how long a
run takes, and later batches hold about :data:`TARGET_S` seconds of runs, but
never more than half a worker's share of what is left, so every worker stays
busy to the end. ``hydra.launcher.batch_size`` fixes the size instead.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from harness.job import JobSpec

#: Seconds of runs a batch aims at once a run's time is known.
TARGET_S = 2.0
#: Most runs in a first batch, before any run was timed.
FIRST_BATCH = 8
#: Most runs in any batch.
MAX_BATCH = 1000


class Batcher:
    """Hand out the runs of a sweep in batches.

    Parameters
    ----------
    jobs
        The runs to compute, in order.
    workers
        How many batches run at once.
    size
        Runs per batch; 0 chooses from the measured run time.

    Examples
    --------
    >>> batcher = Batcher(jobs, workers=2)  # doctest: +SKIP
    >>> first = batcher.next()  # doctest: +SKIP
    >>> batcher.measured(0.05)  # seconds per run of a finished batch  # doctest: +SKIP
    """

    def __init__(self, jobs: Sequence[JobSpec], *, workers: int, size: int = 0) -> None:
        self.queue: deque[JobSpec] = deque(jobs)
        self.workers = max(1, workers)
        self.size = size
        self.total = len(jobs)
        self.run_s: float | None = None

    def measured(self, seconds_per_run: float) -> None:
        """Record the time per run of a finished batch (a running mean)."""
        if seconds_per_run > 0:
            self.run_s = seconds_per_run if self.run_s is None else 0.5 * (self.run_s + seconds_per_run)

    def batch_size(self) -> int:
        """Return the size of the next batch."""
        if self.size > 0:
            return self.size
        share = math.ceil(len(self.queue) / (2 * self.workers))
        if self.run_s is None:
            return max(1, min(FIRST_BATCH, math.ceil(self.total / (4 * self.workers))))
        by_time = max(1, int(TARGET_S / self.run_s))
        return max(1, min(by_time, share, MAX_BATCH))

    def next(self) -> tuple[JobSpec, ...] | None:
        """Return the next batch of runs, or None when every run has been handed out."""
        if not self.queue:
            return None
        n = min(self.batch_size(), len(self.queue))
        return tuple(self.queue.popleft() for _ in range(n))
