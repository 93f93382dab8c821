"""Run the wild as the app would: ``+experiment=outbreak`` with overrides."""

from __future__ import annotations

from loops import simulate
from loops.record import Trajectory
from loops.suite import BenchmarkSuite
from tests.loops.conftest import compose


def outbreak(suite: BenchmarkSuite, *overrides: str, seeds: int, cycles: int,
             run_seed: int = 0) -> Trajectory:
    """Simulate ``takeoff +experiment=outbreak <overrides>`` for ``seeds`` worlds and ``cycles`` cycles."""
    run = compose("+experiment=outbreak", *overrides)
    return simulate(run.world(), suite, cycles=cycles, run_seed=run_seed, seed_indices=range(seeds))
