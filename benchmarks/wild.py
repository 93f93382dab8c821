"""The wild's figures for ``make bench``: copy-cycles per second on the codered preset, bytes per host."""

from __future__ import annotations

import resource
import time

import numpy as np

from loops import simulate
from loops.wild.hosts import empty_hosts, host_places
from tests.loops.conftest import compose


def wild_figures(suite) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Time ``+experiment=codered`` (16 seeds, 840 cycles) once, compiled; count its copy-cycles."""
    run = compose("+experiment=codered")
    simulate(run.world(), suite, cycles=2, run_seed=0, seed_indices=[0], engine="numba")  # load the kernels
    cpu = time.process_time()
    start = time.perf_counter()
    traj = simulate(run.world(), suite, cycles=run.cycles, run_seed=run.seed,
                    seed_indices=range(run.seeds), engine="numba")
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    copy_cycles = float(np.nansum(traj.copies_wild))
    hosts = empty_hosts(run.wild, 1)
    return {
        "codered_s": wall,
        "codered_cpu_s": cpu,
        "codered_copy_cycles": copy_cycles,
        "wild_copy_cycles_per_s": copy_cycles / wall,
        "wild_copy_cycles_per_cpu_s": copy_cycles / cpu,  # one core; the wall figure counts a loaded machine
        "wild_bytes_per_host": (hosts.nbytes() - hosts.scratch.nbytes) / host_places(run.wild),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def report(figures: dict[str, float]) -> None:
    """Print the wild's lines of the benchmark table."""
    print(f"\n{'codered preset (16 seeds x 840 cycles, 360k hosts)':<48} {figures['codered_s']:>12.2f} s "
          f"({figures['codered_cpu_s']:.2f} s CPU)")
    print(f"{'wild, compiled':<48} {figures['wild_copy_cycles_per_s']:>12.3g} copy-cycles/s "
          f"({figures['wild_copy_cycles_per_cpu_s']:.3g} per CPU second)")
    print(f"{'wild state per host':<48} {figures['wild_bytes_per_host']:>12.0f} bytes")
