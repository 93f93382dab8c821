"""How a sweep's runs are cut into batches: many short runs per Dask task, sized from a measured run time.

A task costs a few milliseconds to ship and its batch group a few dozen
milliseconds and 14 files to write, whatever its size; a story run takes a
fraction of a second. So runs go many to a task: the first batches (half a
worker's share of the sweep, at most :data:`FIRST_BATCH` runs) measure how
long a run takes, and later batches hold about :data:`TARGET_S` seconds of
runs (so a batch lost with its worker, or a progress bar's step, stays short)
and at most :data:`BATCH_BYTES` of stored data, but never more than half a
worker's share of what is left, so every worker
stays busy to the end: the last batches hold about :data:`TAIL_S` seconds of
runs, so a worker that finishes first waits about half that for the other.
``hydra.launcher.batch_size`` fixes the size instead.

A sweep of 32 story runs on 2 workers is 4 batches of 8 (about 2 files per
run); a batch size chosen from a 2-second target made it batches of 1 or 2
(8 files per run).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from harness.job import JobSpec

#: Seconds of runs a batch aims at once a run's time is known.
TARGET_S = 20.0
#: Seconds of runs the last batches hold at least. A batch group costs about 40 ms to write
#: whatever its size, and the worker that finishes first waits about half the last batch:
#: in a model of 1,024 story runs (0.2 s each) on 2 workers, a floor of 1 s (5 runs) made
#: the workers' idle and fixed write time 1.2 s where a floor of an eighth of the target
#: (12 runs) made it 2.4 s.
TAIL_S = 1.0
#: Bytes of stored data (a run's trajectory, analysis and curves) a batch holds at most once a
#: run's size is known. A worker holds its batch's runs until it writes them, and as much again
#: to write them; memory a worker has not used before is mapped and faulted in page by page,
#: which cost 1-2 ms a story run (0.7 MB) in a sweep on the 2-core machine. Capped at 32 MiB
#: (48 story runs), a worker reuses the same memory batch after batch: the sweep's write time
#: fell from 3.8-4.2 s to 3.2-3.3 s for 1,024 story runs (two alternations), where uncapped
#: batches of up to 190 runs peaked at 260 MB.
BATCH_BYTES = 1 << 25
#: Most runs in a first batch, before any run was timed.
FIRST_BATCH = 16
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
        self.run_bytes: float | None = None

    def measured(self, seconds_per_run: float, bytes_per_run: float = 0.0) -> None:
        """Record the time and the stored bytes per run of a finished batch (running means)."""
        if seconds_per_run > 0:
            self.run_s = seconds_per_run if self.run_s is None else 0.5 * (self.run_s + seconds_per_run)
        if bytes_per_run > 0:
            last = self.run_bytes
            self.run_bytes = bytes_per_run if last is None else 0.5 * (last + bytes_per_run)

    def batch_size(self) -> int:
        """Return the size of the next batch."""
        if self.size > 0:
            return self.size
        if self.run_s is None:
            return max(1, min(FIRST_BATCH, math.ceil(self.total / (2 * self.workers))))
        most = max(1, int(TARGET_S / self.run_s))  # the target time of runs, and their bytes
        if self.run_bytes:
            most = min(most, max(1, int(BATCH_BYTES / self.run_bytes)))
        if self.workers == 1:  # nothing to balance
            return min(most, MAX_BATCH)
        # Half a worker's share of what is left, but no less than TAIL_S of runs: the tail's
        # batches shrink without ending in a run per batch (unless a run takes that long).
        share = max(math.ceil(len(self.queue) / (2 * self.workers)), int(TAIL_S / self.run_s))
        return max(1, min(most, share, MAX_BATCH))

    def next(self) -> tuple[JobSpec, ...] | None:
        """Return the next batch of runs, or None when every run has been handed out."""
        if not self.queue:
            return None
        n = min(self.batch_size(), len(self.queue))
        return tuple(self.queue.popleft() for _ in range(n))
