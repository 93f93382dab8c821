"""How the launcher cuts a sweep into batches (``harness.launcher.batching``): few files, busy workers."""

from __future__ import annotations

from typing import Any

from harness.launcher.batching import BATCH_BYTES, FIRST_BATCH, TAIL_S, TARGET_S, Batcher


def sizes(jobs: list[Any], workers: int, seconds_per_run: float, size: int = 0,
          bytes_per_run: float = 0.0) -> list[int]:
    """Batch sizes as the launcher hands them out: 2 per worker at once, then one per finished batch."""
    batcher = Batcher(jobs, workers=workers, size=size)
    out = [len(b) for _ in range(2 * workers) if (b := batcher.next()) is not None]
    while True:
        batcher.measured(seconds_per_run, bytes_per_run)  # a batch finished
        if (batch := batcher.next()) is None:
            return out
        out.append(len(batch))


def test_a_small_sweep_is_one_batch_per_half_worker_share() -> None:
    """32 story runs on 2 workers: 4 batches of 8 (a batch group is 14 files: under 2 files a run)."""
    assert sizes(list(range(32)), 2, 1.0) == [8, 8, 8, 8]
    assert sizes(list(range(3)), 2, 1.0) == [1, 1, 1]
    assert sizes(list(range(32)), 1, 0.2) == [16, 16]  # one worker (sync): nothing to balance


def test_measured_runs_make_batches_of_the_target_time_and_leave_every_worker_busy() -> None:
    jobs = list(range(10_000))
    got = sizes(jobs, 2, 0.1)
    assert sum(got) == len(jobs)
    assert got[0] == FIRST_BATCH
    assert max(got) == int(TARGET_S / 0.1)  # later batches: the target time of runs
    assert got[-6:] == sorted(got[-6:], reverse=True)  # the tail shrinks: no worker waits on a long batch
    assert min(got[2 * 2:-1]) >= int(TAIL_S / 0.1)  # but never to a run a batch (files, dispatch)
    # The last full batches hold about TAIL_S of runs: the worker done first waits about half that.
    assert got[-2] <= 2 * int(TAIL_S / 0.1), got[-6:]
    assert len(got) < 80
    assert sizes(jobs, 2, 0.1, size=7)[:3] == [7, 7, 7]


def test_a_batch_holds_at_most_batch_bytes_of_runs_once_their_size_is_known() -> None:
    # A worker holds a batch's runs until it writes them: large runs make smaller batches,
    # however short they are. Story runs: 0.2 s and 0.7 MB each.
    jobs = list(range(1024))
    story = 674_680
    got = sizes(jobs, 2, 0.2, bytes_per_run=story)
    assert sum(got) == len(jobs)
    assert got[0] == FIRST_BATCH  # before any run was measured
    assert max(got[4:]) == BATCH_BYTES // story < int(TARGET_S / 0.2), got
    assert sizes(jobs, 2, 0.2, bytes_per_run=100 * BATCH_BYTES)[4:8] == [1, 1, 1, 1]
    assert max(sizes(jobs, 2, 0.2, bytes_per_run=1000)) == int(TARGET_S / 0.2)  # small runs: the time decides
    assert sizes(jobs, 2, 0.2, size=7, bytes_per_run=story)[:3] == [7, 7, 7]  # a size the user set holds
