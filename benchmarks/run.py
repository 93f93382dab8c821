"""``make bench``: how fast the kernel, the store and the sweeps are.

Prints a readable table, each row saying what it measured (its size, and how many
repeats its median is of), then where the bench's time went, then as its last line
one JSON object of figures. Ratios are taken within one run of this script, side by
side, because single times on a shared machine are noise. Short figures are medians
of repeats; the long ones (a numpy story run, the 10^5-run store, the sweeps, the
1,024 story jobs end to end) run once. About 6-10 minutes on 2 quiet cores; the
end-to-end figure's 1,024 story jobs (TAKEOFF_BENCH_E2E_JOBS sets another count)
take half of it.
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import json
import math
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.wild import report as wild_report  # noqa: E402
from benchmarks.wild import wild_figures  # noqa: E402
from harness.suites import build_suite  # noqa: E402
from loops import engine, simulate  # noqa: E402
from loops.reference import simulate_reference  # noqa: E402
from loops.state import initial_population  # noqa: E402
from tests.loops.conftest import compose  # noqa: E402

BIN = Path(sys.executable).parent
REPEATS = 3
SATURATE = 20  # cycles until 1024 slots are full (copies double every cycle at rho = 1)
#: Saturated cycles the kernel is timed over (its cost per instance-cycle is flat from 250 to 2000
#: cycles: the scaling table), the numpy stages, and the reference (about 0.15 s a cycle: 20 cycles,
#: once, are 4x the signal of 5 cycles at a third of the cost of 3 repeats).
AFTER, AFTER_NUMPY, AFTER_REFERENCE = 500, 50, 20
COMPILED = functools.partial(simulate, engine="numba")
NUMPY = functools.partial(simulate, engine="numpy")


def median_time(fn, repeats: int = REPEATS) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def saturated(seeds: int = 16, slots: int = 1024):  # type: ignore[no-untyped-def]
    """A population that fills every home slot in ~10 cycles and stays full: guard off, replicate held."""
    return compose(
        "+experiment=story",
        "loop.guard.mode=none",
        "model.t_net=null",
        "interventions.t_shutdown=null",
        f"capacity.home={slots}",
        "capacity.external=0",
        f"capacity.compute_home={slots}",
        "loop.replicate.rho=1.0",
        f"seeds={seeds}",
    )


def per_saturated_cycle(
    sim, run, suite, seeds: int, slots: int, cycles: int, repeats: int = REPEATS
) -> float:  # type: ignore[no-untyped-def]
    """Seconds per instance-cycle after saturation: (T(20 + n) - T(20)) / (n * seeds * slots)."""

    def timed(n: int) -> float:
        return median_time(
            lambda: sim(run.world(), suite, cycles=n, run_seed=0, seed_indices=range(seeds)), repeats
        )

    return (timed(SATURATE + cycles) - timed(SATURATE)) / (cycles * seeds * slots)


def kernel_figures(suite) -> dict[str, float]:  # type: ignore[no-untyped-def]
    run = saturated()
    COMPILED(run.world(), suite, cycles=2, run_seed=0, seed_indices=[0])  # load the compiled kernel
    kernel = per_saturated_cycle(COMPILED, run, suite, 16, 1024, AFTER)
    numpy_path = per_saturated_cycle(NUMPY, run, suite, 16, 1024, AFTER_NUMPY, repeats=2)
    small = saturated(seeds=1)
    reference = per_saturated_cycle(simulate_reference, small, suite, 1, 1024, AFTER_REFERENCE, repeats=1)
    state = initial_population(run.world(), 16, len(suite.domains))
    tracemalloc.start()
    COMPILED(run.world(), suite, cycles=SATURATE + 5, run_seed=0, seed_indices=range(16))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    slots = 16 * 1024
    return {
        "kernel_instance_cycles_per_s": 1 / kernel,
        "numpy_instance_cycles_per_s": 1 / numpy_path,
        "reference_instance_cycles_per_s": 1 / reference,
        "kernel_speedup_vs_reference": reference / kernel,
        "kernel_speedup_vs_numpy": numpy_path / kernel,
        "bytes_per_instance_slot": state.nbytes() / slots,
        "peak_bytes_per_instance_slot": peak / slots,
    }


def stage_costs(suite) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Nanoseconds per saturated instance-cycle spent in each part of the compiled cycle."""
    base = engine.select("numba")
    spent: collections.Counter[str] = collections.Counter()

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            spent[name] += time.perf_counter() - start
            return out

        return call

    probe = engine.Engine("numba", {name: timed(name, fn) for name, fn in base.stages.items()},
                          timed("allocate", base.allocate), timed("record", base.observe))
    run = saturated()

    def costs(cycles: int) -> collections.Counter[str]:
        spent.clear()
        start = time.perf_counter()
        simulate(run.world(), suite, cycles=cycles, run_seed=0, seed_indices=range(16), engine=probe)
        total = time.perf_counter() - start
        out = collections.Counter(spent)
        out["other (driver, dispatch)"] = total - sum(spent.values())
        return out

    after = 300
    longer, shorter = costs(SATURATE + after), costs(SATURATE)
    return {name: (longer[name] - shorter[name]) / (after * 16 * 1024) * 1e9 for name in longer}


def scaling(suite) -> list[tuple[str, int, float]]:  # type: ignore[no-untyped-def]
    """Seconds per saturated instance-cycle against seeds, slots (200 cycles) and cycles; once each."""
    rows = []
    for seeds in (4, 8, 16, 32):
        run = saturated(seeds=seeds, slots=512)
        rows.append(("seeds", seeds, per_saturated_cycle(COMPILED, run, suite, seeds, 512, 200, repeats=1)))
    for slots in (256, 512, 1024, 2048):
        run = saturated(seeds=8, slots=slots)
        rows.append(("slots", slots, per_saturated_cycle(COMPILED, run, suite, 8, slots, 200, repeats=1)))
    for cycles in (250, 500, 1000, 2000):
        run = saturated(seeds=8, slots=512)
        rows.append(("cycles", cycles, per_saturated_cycle(COMPILED, run, suite, 8, 512, cycles, repeats=1)))
    return rows


def store_figures(suite) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import results
    from analysis.world import stored_parts
    from results.bench import time_open_sweep, time_write

    run = compose("+experiment=story")
    sim_s = median_time(
        lambda: COMPILED(run.world(), suite, cycles=run.cycles, run_seed=0, seed_indices=range(run.seeds))
    )
    numpy_s = timed("store: numpy story run", median_time,  # once: about 40x the compiled run
                    lambda: NUMPY(run.world(), suite, cycles=run.cycles, run_seed=0,
                                  seed_indices=range(run.seeds)), 1)
    # A batch of story runs as a job writes it (trajectories, analysis, curve means),
    # against their simulation.
    records, sims = [], []
    for seed in range(8):
        start = time.perf_counter()
        traj = COMPILED(run.world(), suite, cycles=run.cycles, run_seed=seed, seed_indices=range(run.seeds))
        sims.append(time.perf_counter() - start)
        ds = results.run_dataset(traj.arrays(), seed=traj.seed, cycle=traj.cycle, domain=traj.domain)
        records.append(results.RunRecord(f"{seed:016x}", ds, config={"seed": seed}, **stored_parts(ds, {})))
    with tempfile.TemporaryDirectory() as tmp:
        time_write(records, Path(tmp) / "warm.zarr")
        writes = [time_write(records, Path(tmp) / f"w{i}.zarr") for i in range(REPEATS)]
        store = Path(tmp) / "open.zarr"
        opened = timed("store: 100k write + open", functools.partial(time_open_sweep, store, runs=100_000,
                                                                     with_run=with_analysis))
        report_s = timed("store: 100k report", time_report, store, Path(tmp) / "report")
    return {
        "story_simulate_s": sim_s,
        "story_simulate_numpy_s": numpy_s,
        "story_write_s": statistics.median(writes) / len(records),
        "write_fraction": statistics.median(writes) / sum(sims),
        "write_100000_runs_s": opened["write_s"],
        "open_100000_runs_s": opened["open_s"],
        "open_100000_runs_peak_mb": opened["open_peak_mb"],
        "report_100000_runs_s": report_s,
    }


def with_analysis(ds):  # type: ignore[no-untyped-def]
    """What a job writes with a run besides its trajectories: its worlds' analysis and curve moments."""
    from analysis.world import stored_parts

    return stored_parts(ds, {})


def time_report(store: Path, out: Path) -> float:
    """Wall seconds of ``takeoff-report`` on ``store``, as a user runs it (start-up included)."""
    start = time.perf_counter()
    done = subprocess.run([str(BIN / "takeoff-report"), str(store), "--out", str(out), "--quiet"],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or "analysed again" in done.stdout:
        raise RuntimeError(f"takeoff-report {store} did not read the stored analysis:\n"
                           f"{done.stdout[-1000:]}{done.stderr[-2000:]}")
    return elapsed


def analysis_figures(suite) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Analysis time per story world, and its ratio to the compiled simulation's, side by side."""
    import results
    from analysis.world import analyse_worlds

    run = compose("+experiment=story")

    def sim():  # type: ignore[no-untyped-def]
        return COMPILED(run.world(), suite, cycles=run.cycles, run_seed=0, seed_indices=range(run.seeds))

    traj = sim()
    ds = results.run_dataset(traj.arrays(), seed=traj.seed, cycle=traj.cycle, domain=traj.domain)
    config = {"capacity": {"home": run.capacity.home}}
    analyse_worlds(ds, config)  # warm caches
    sim_s = median_time(sim)
    analysis_s = median_time(lambda: analyse_worlds(ds, config))
    return {
        "analysis_ms_per_world": analysis_s / run.seeds * 1000,
        "analysis_vs_simulate": analysis_s / sim_s,
    }


def takeoff(*args: str, cwd: Path) -> float:
    """Return the wall seconds of ``takeoff *args``, as a user runs it."""
    return takeoff_output(*args, cwd=cwd)[0]


def takeoff_output(*args: str, cwd: Path) -> tuple[float, str]:
    """Return the wall seconds and the standard output of ``takeoff *args``."""
    start = time.perf_counter()
    done = subprocess.run([str(BIN / "takeoff"), *args], cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"takeoff {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def takeoff_cpu(*args: str, cwd: Path) -> tuple[float, float, str]:
    """Return wall and CPU seconds (user + system, the process and its children) and the output of a sweep.

    Only for one-process sweeps (``hydra.launcher.cluster=sync``): the CPU of the
    processes a cluster forks is not counted.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, out = takeoff_output(*args, cwd=cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out


#: Story jobs of the launcher comparison (basic against Dask, once each) and of ``files_per_run``.
SWEEP_JOBS = 32
#: One-cycle jobs of the harness overhead figure, against one such job.
OVERHEAD_JOBS = 257


def sweep_figures() -> dict[str, float]:
    """32 story jobs with Hydra's basic launcher and with the Dask launcher; the store's files per run."""
    story = ["-m", "+experiment=story", f"seed=range(0,{SWEEP_JOBS})"]
    with tempfile.TemporaryDirectory() as tmp:
        basic = timed("sweeps: basic launcher", functools.partial(
            takeoff, *story, "hydra/launcher=basic", f"hydra.sweep.dir={tmp}/b", cwd=Path(tmp)))
        dask = timed("sweeps: Dask launcher", functools.partial(
            takeoff, *story, "hydra.launcher.n_workers=2", f"hydra.sweep.dir={tmp}/d", cwd=Path(tmp)))
        store = Path(tmp) / "d" / "results.zarr"
        files_per_run = sum(len(files) for _, _, files in os.walk(store)) / SWEEP_JOBS
    return {
        "sweep_basic_s": basic,
        "sweep_dask_s": dask,
        "sweep_speedup_vs_basic": basic / dask,
        "files_per_run": files_per_run,
    }


def overhead_figures() -> dict[str, float]:
    """The harness's cost per job: CPU and wall of 257 one-cycle jobs against one, in one process.

    ``takeoff -m seeds=1 cycles=1 hydra.launcher.cluster=sync`` with one job, with
    257, and with one again. A job of one world and one cycle costs next to nothing
    to simulate, so what a job adds is the harness's: compose, run, analyse, write,
    bookkeeping. CPU seconds (the process's user + system time) move much less with
    the load of other processes than wall seconds do; the noise is the difference of
    the two one-job runs, spread over the 256 jobs (about 1 ms at 512 jobs, load 6).
    """
    tiny = ["-m", "seeds=1", "cycles=1", "hydra.launcher.cluster=sync"]
    with tempfile.TemporaryDirectory() as tmp:
        def sweep(name: str, seeds: str) -> tuple[float, float, str]:
            return takeoff_cpu(*tiny, f"seed={seeds}", f"hydra.sweep.dir={tmp}/{name}", cwd=Path(tmp))

        one_a = sweep("one-a", "0")
        many = sweep("many", f"range(0,{OVERHEAD_JOBS})")
        one_b = sweep("one-b", "0")
    many_said = closing_line(many[2])
    extra = OVERHEAD_JOBS - 1
    return {
        "overhead_sweep_said": many_said,
        "overhead_jobs": OVERHEAD_JOBS,
        "job_overhead_s": (many[1] - (one_a[1] + one_b[1]) / 2) / extra,
        "job_overhead_noise_s": abs(one_a[1] - one_b[1]) / extra,
        "job_overhead_wall_s": (many[0] - (one_a[0] + one_b[0]) / 2) / extra,
        "job_overhead_wall_noise_s": abs(one_a[0] - one_b[0]) / extra,
    }


#: Story jobs of the end-to-end figure: the issue's 1,024 (TAKEOFF_BENCH_E2E_JOBS sets another count).
E2E_JOBS = int(os.environ.get("TAKEOFF_BENCH_E2E_JOBS", "1024"))
#: The story run and suite the simulation of the end-to-end jobs is timed on (set before forking).
_E2E: tuple[Any, Any] | None = None


def _simulated(seeds: list[int]) -> float:
    """Return the summed compiled simulation seconds of the story jobs ``seeds`` (in a forked process)."""
    assert _E2E is not None
    run, suite = _E2E
    total = 0.0
    for seed in seeds:
        start = time.perf_counter()
        COMPILED(run.world(), suite, cycles=run.cycles, run_seed=seed, seed_indices=range(run.seeds))
        total += time.perf_counter() - start
    return total


def end_to_end_figures(suite) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """``takeoff -m`` + ``takeoff-report`` of story jobs on 2 workers against their compiled simulation / 2.

    The compiled simulation time is the sum, over the same jobs (story preset,
    seeds 0 to n - 1), of each job's simulation, timed one job at a time in two
    processes side by side, as the sweep's two workers run them: the first half
    of the jobs just before the pipeline, the second half just after it. A 2-core
    machine's speed drifts by 15-25% over minutes (the same simulation timed
    again later); split around the pipeline, a steady drift cancels, where timing
    it all before the pipeline read it once 26% too fast. The fixed start-up
    (interpreters, imports, the cluster's start, the report's start) is the wall
    time of the same two commands for one job of one cycle.
    ``end_to_end_efficiency_in_sweep`` takes the simulation time the sweep's
    workers measured instead (its closing line): the same minutes as the
    pipeline, so no drift.
    """
    global _E2E
    _E2E = (compose("+experiment=story"), suite)
    COMPILED(_E2E[0].world(), suite, cycles=2, run_seed=0, seed_indices=[0])  # compiled before forking
    seeds = list(range(E2E_JOBS))
    early, late = seeds[: E2E_JOBS // 2], seeds[E2E_JOBS // 2:]
    # Each pipeline's wall seconds of takeoff -m and of takeoff-report, and the sweep's closing line.
    ran: dict[str, tuple[float, float, str]] = {}
    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ProcessPoolExecutor(
            2, mp_context=multiprocessing.get_context("fork")) as pool:
        def simulation(part: list[int]) -> float:
            return sum(pool.map(_simulated, [part[0::2], part[1::2]]))

        def pipeline(name: str, *overrides: str) -> float:
            sweep, out = takeoff_output("-m", *overrides, "hydra.launcher.n_workers=2",
                                        f"hydra.sweep.dir={tmp}/{name}", cwd=Path(tmp))
            report = time_report(Path(tmp) / name / "results.zarr", Path(tmp) / name / "report")
            ran[name] = (sweep, report, closing_line(out))
            return sweep + report

        fixed = timed("end to end: fixed start-up", pipeline, "fixed", "seeds=1", "cycles=1", "seed=0")
        before = timed("end to end: simulation, 2 processes", simulation, early)
        wall = timed("end to end: pipeline", pipeline, "story", "+experiment=story",
                     f"seed=range(0,{E2E_JOBS})")
        after = timed("end to end: simulation, 2 processes", simulation, late)
    simulated = before + after
    sweep_s, report_s, said = ran["story"]
    # The harness's own worker time per story run: what is neither simulation nor analysis
    # (the write, each run's Dataset, the job's log, the workers' idle time), from the sweep's line.
    parts = worker_time(said)
    harness = sum(v for k, v in parts.items() if k not in ("simulate", "analyse"))
    return {
        "story_harness_ms_per_run": 1000 * harness / E2E_JOBS if parts else float("nan"),
        "end_to_end_sweep_said": said,
        "end_to_end_jobs": E2E_JOBS,
        "end_to_end_wall_s": wall,
        "end_to_end_sweep_s": sweep_s,
        "end_to_end_report_s": report_s,
        "end_to_end_simulate_s": simulated,
        # The drift: the second half's simulation over the first's (1.0 on a steady machine).
        "end_to_end_simulate_drift": (after / len(late)) / (before / len(early)) if before and late else 1.0,
        "end_to_end_efficiency": simulated / 2 / wall,
        # The same ratio with the simulation as the sweep's workers timed it, in the same minutes
        # as the pipeline: no drift between the two, but preemption by the sweep's other processes
        # counts as simulation (a few percent).
        "end_to_end_efficiency_in_sweep": parts.get("simulate", math.nan) / 2 / wall,
        "startup_s": fixed,
    }


def closing_line(out: str) -> str:
    """Return a sweep's closing line (``takeoff: N runs in ... worker time: ...``) from its output, or ""."""
    return next((text for text in out.splitlines() if "worker time:" in text), "")


def worker_time(said: str) -> dict[str, float]:
    """Return the seconds by part of a sweep's closing line (``... worker time: simulate 1.0 s (50%), ...``).

    An empty dict when the line is not there.
    """
    import re

    return {name: float(seconds) for name, seconds in re.findall(r"(\w+) ([0-9.]+) s \(", said.partition(
        "worker time:")[2])}


#: Wall seconds each part of the bench took, in order (printed at the end: where the bench's time goes).
SECTIONS: dict[str, float] = {}


def timed(name: str, fn, *args):  # type: ignore[no-untyped-def]
    """Call ``fn(*args)`` and record its wall seconds under ``name`` in :data:`SECTIONS`."""
    start = time.perf_counter()
    out = fn(*args)
    SECTIONS[name] = SECTIONS.get(name, 0.0) + time.perf_counter() - start
    print(f"[bench] {name}: {SECTIONS[name]:.1f} s", file=sys.stderr, flush=True)
    return out


def line(label: str, value: str) -> None:
    """Print one row of the table: what was measured (with its size), then the figure."""
    print(f"{label:<60} {value}")


def main() -> None:
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    start = time.perf_counter()
    load_before = os.getloadavg()[0]
    suite = build_suite(compose().tasks)
    figures: dict[str, Any] = {}
    print("takeoff benchmark (each figure says its size and repeats; 2-core machines are noisy, "
          "ratios taken side by side hold)\n")
    figures |= timed("kernel", kernel_figures, suite)
    line(f"compiled kernel, saturated (16 seeds x 1024 slots, {AFTER} cycles, median of {REPEATS})",
         f"{figures['kernel_instance_cycles_per_s']:>12.3g} instance-cycles/s")
    line(f"numpy stages, same workload ({AFTER_NUMPY} cycles, median of 2)",
         f"{figures['numpy_instance_cycles_per_s']:>12.3g} instance-cycles/s")
    line(f"reference, 1 seed x 1024 slots ({AFTER_REFERENCE} cycles, once)",
         f"{figures['reference_instance_cycles_per_s']:>12.3g} instance-cycles/s")
    line("kernel speedup vs reference", f"{figures['kernel_speedup_vs_reference']:>12.1f} x")
    line("kernel speedup vs numpy stages", f"{figures['kernel_speedup_vs_numpy']:>12.1f} x")
    line("kernel state per instance slot", f"{figures['bytes_per_instance_slot']:>12.0f} bytes")
    line("peak traced memory per instance slot", f"{figures['peak_bytes_per_instance_slot']:>12.0f} bytes")
    costs = timed("stages", stage_costs, suite)
    figures["stage_ns_per_instance_cycle"] = {k: round(v, 2) for k, v in costs.items()}
    print("\nwhere a saturated instance-cycle goes (compiled kernel, 16 seeds x 1024 slots, 300 cycles, "
          "once):")
    for name, ns in sorted(costs.items(), key=lambda item: -item[1]):
        print(f"  {name:<28} {ns:6.1f} ns")
    print(f"  {'total':<28} {sum(costs.values()):6.1f} ns")
    print("\nscaling (ns per saturated instance-cycle, each once; should stay flat):")
    for axis, value, cost in timed("scaling", scaling, suite):
        size = {"seeds": f"{value} x 512, 200 cycles", "slots": f"8 x {value}, 200 cycles",
                "cycles": f"8 x 512, {value} cycles"}[axis]
        print(f"  {axis:<8} {size:<24} {cost * 1e9:8.1f} ns")
    wild = timed("wild", wild_figures, suite)
    wild_report(wild)
    figures |= {k: v for k, v in wild.items() if k != "peak_rss_mb"}
    figures |= timed("store", store_figures, suite)
    print()
    line(f"story run (16 seeds x 300 cycles): simulate, compiled (median of {REPEATS})",
         f"{figures['story_simulate_s']:>12.3f} s")
    line("story run: simulate, numpy stages (once)", f"{figures['story_simulate_numpy_s']:>12.3f} s")
    line(f"story run: write, per run (a batch of 8; median of {REPEATS} batches)",
         f"{figures['story_write_s']:>12.3f} s ({figures['write_fraction']:.1%} of their simulation)")
    line("write 100,000 short runs (2 seeds x 12 cycles, batches of 5,000)",
         f"{figures['write_100000_runs_s']:>12.1f} s")
    line("open that 100,000-run sweep (once)", f"{figures['open_100000_runs_s']:>12.2f} s "
         f"(peak {figures['open_100000_runs_peak_mb']:.0f} MB traced)")
    line("takeoff-report of that sweep (stored analysis, once)",
         f"{figures['report_100000_runs_s']:>12.1f} s")
    figures |= timed("analysis", analysis_figures, suite)
    line(f"story run: analyse, per world (16 worlds, median of {REPEATS})",
         f"{figures['analysis_ms_per_world']:>12.2f} ms "
         f"({figures['analysis_vs_simulate']:.2f}x the simulation)")
    figures |= timed("sweeps", sweep_figures)
    line(f"{SWEEP_JOBS} story jobs, Hydra basic launcher (once)", f"{figures['sweep_basic_s']:>12.2f} s")
    line(f"{SWEEP_JOBS} story jobs, Dask launcher, 2 workers (once)",
         f"{figures['sweep_dask_s']:>12.2f} s ({figures['sweep_speedup_vs_basic']:.2f}x)")
    line(f"files in the store per run ({SWEEP_JOBS} story jobs, Dask)", f"{figures['files_per_run']:>12.2f}")
    figures |= timed("overhead", overhead_figures)
    line(f"harness overhead per job, CPU ({OVERHEAD_JOBS} one-cycle jobs against 1, sync)",
         f"{figures['job_overhead_s'] * 1000:>12.1f} ms "
         f"(noise +- {figures['job_overhead_noise_s'] * 1000:.1f} ms; "
         f"wall {figures['job_overhead_wall_s'] * 1000:.1f} "
         f"+- {figures['job_overhead_wall_noise_s'] * 1000:.1f} ms)")
    said = figures.pop("overhead_sweep_said")
    if said:
        print(f"  the {OVERHEAD_JOBS}-job sweep said: {said}")
    figures |= timed("end to end", end_to_end_figures, suite)
    line(f"end to end, {E2E_JOBS} story jobs on 2 workers (once)",
         f"{figures['end_to_end_wall_s']:>12.1f} s (simulation {figures['end_to_end_simulate_s']:.1f} s "
         f"of one core, its second half {figures['end_to_end_simulate_drift']:.2f}x the first's per job: "
         f"efficiency {figures['end_to_end_efficiency']:.3f}; "
         f"fixed start-up {figures['startup_s']:.1f} s)")
    said = figures.pop("end_to_end_sweep_said")
    if said:
        print(f"  the sweep said: {said}")
    print(f"  of its wall time: takeoff -m {figures['end_to_end_sweep_s']:.1f} s, "
          f"takeoff-report {figures['end_to_end_report_s']:.1f} s")
    line("end to end, with the simulation as the sweep's workers timed it",
         f"{figures['end_to_end_efficiency_in_sweep']:>12.3f} (efficiency)")
    line("harness per story run in that sweep (write, Dataset, job log, idle; worker time)",
         f"{figures['story_harness_ms_per_run']:>12.1f} ms")
    figures["bench_seconds"] = time.perf_counter() - start
    figures["bench_section_s"] = {k: round(v, 1) for k, v in SECTIONS.items()}
    figures["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(f"\nwhere the bench's {figures['bench_seconds'] / 60:.1f} minutes went "
          f"(load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end):")
    for name, seconds in SECTIONS.items():  # "part: piece" is a piece of the part printed after it
        print(f"    {name.partition(': ')[2]:<38} {seconds:7.1f} s" if ": " in name else
              f"  {name:<40} {seconds:7.1f} s")
    print(json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
