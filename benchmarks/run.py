"""``make bench``: how fast the kernel, the store and the sweeps are.

Prints a readable table, then as its last line one JSON object of figures.
Every figure is the median of several repeats; ratios are taken within one run
of this script, side by side, because single times on a shared machine are
noise. Takes a few minutes on 2 cores.
"""

from __future__ import annotations

import collections
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

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
AFTER = 2000  # saturated cycles the kernel is timed over
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
    numpy_path = per_saturated_cycle(NUMPY, run, suite, 16, 1024, 100)
    small = saturated(seeds=1)
    reference = per_saturated_cycle(simulate_reference, small, suite, 1, 1024, 5)
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
    rows = []
    for seeds in (4, 8, 16, 32):
        run = saturated(seeds=seeds, slots=512)
        rows.append(("seeds", seeds, per_saturated_cycle(COMPILED, run, suite, seeds, 512, 400)))
    for slots in (256, 512, 1024, 2048):
        run = saturated(seeds=8, slots=slots)
        rows.append(("slots", slots, per_saturated_cycle(COMPILED, run, suite, 8, slots, 400)))
    for cycles in (250, 500, 1000, 2000):
        run = saturated(seeds=8, slots=512)
        rows.append(("cycles", cycles, per_saturated_cycle(COMPILED, run, suite, 8, 512, cycles)))
    return rows


def store_figures(suite) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import results
    from analysis.world import analyse_worlds, run_curves
    from results.bench import time_open_sweep, time_write

    run = compose("+experiment=story")
    sim_s = median_time(
        lambda: COMPILED(run.world(), suite, cycles=run.cycles, run_seed=0, seed_indices=range(run.seeds))
    )
    numpy_s = median_time(
        lambda: NUMPY(run.world(), suite, cycles=run.cycles, run_seed=0, seed_indices=range(run.seeds))
    )
    # A batch of story runs as a job writes it (trajectories, analysis, curve means),
    # against their simulation.
    records, sims = [], []
    for seed in range(8):
        start = time.perf_counter()
        traj = COMPILED(run.world(), suite, cycles=run.cycles, run_seed=seed, seed_indices=range(run.seeds))
        sims.append(time.perf_counter() - start)
        ds = results.run_dataset(traj.arrays(), seed=traj.seed, cycle=traj.cycle, domain=traj.domain)
        analysis = analyse_worlds(ds, {})
        analysis = analysis.drop_vars(list(analysis.coords))
        analysis.attrs = {}
        records.append(results.RunRecord(f"{seed:016x}", ds, config={"seed": seed}, analysis=analysis,
                                         curves=run_curves(ds, {})))
    with tempfile.TemporaryDirectory() as tmp:
        time_write(records, Path(tmp) / "warm.zarr")
        writes = [time_write(records, Path(tmp) / f"w{i}.zarr") for i in range(REPEATS)]
        store = Path(tmp) / "open.zarr"
        opened = time_open_sweep(store, runs=100_000, with_run=with_analysis)
        report_s = time_report(store, Path(tmp) / "report")
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
    from analysis.world import analyse_worlds, analysis_digest, run_curves

    analysis = analyse_worlds(ds, {})
    analysis = analysis.drop_vars(list(analysis.coords))
    analysis.attrs = {}
    return {"analysis": analysis, "curves": run_curves(ds, {}),
            "info": {"analysis_digest": analysis_digest()}}


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
    start = time.perf_counter()
    done = subprocess.run([str(BIN / "takeoff"), *args], cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"takeoff {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def sweep_figures() -> dict[str, float]:
    story = ["-m", "+experiment=story", "seed=range(0,32)"]
    basic, dask = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(REPEATS):
            basic.append(
                takeoff(*story, "hydra/launcher=basic", f"hydra.sweep.dir={tmp}/b{i}", cwd=Path(tmp))
            )
            dask.append(
                takeoff(*story, "hydra.launcher.n_workers=2", f"hydra.sweep.dir={tmp}/d{i}", cwd=Path(tmp))
            )
        tiny = ["-m", "seeds=1", "cycles=1", "hydra.launcher.cluster=sync"]
        one = [takeoff(*tiny, "seed=0", f"hydra.sweep.dir={tmp}/o{i}", cwd=Path(tmp)) for i in range(REPEATS)]
        many = [
            takeoff(*tiny, "seed=range(0,33)", f"hydra.sweep.dir={tmp}/m{i}", cwd=Path(tmp))
            for i in range(REPEATS)
        ]
        store = Path(tmp) / "d0" / "results.zarr"
        files_per_run = sum(len(files) for _, _, files in os.walk(store)) / 32
    basic_s, dask_s = statistics.median(basic), statistics.median(dask)
    return {
        "sweep_basic_s": basic_s,
        "sweep_dask_s": dask_s,
        "sweep_speedup_vs_basic": basic_s / dask_s,
        "job_overhead_s": (statistics.median(many) - statistics.median(one)) / 32,
        "files_per_run": files_per_run,
    }


#: Story jobs of the end-to-end figure: the issue's 1,024 (TAKEOFF_BENCH_E2E_JOBS) take about as long
#: as the rest of the bench while the analysis costs more than the simulation; 128 by default.
E2E_JOBS = int(os.environ.get("TAKEOFF_BENCH_E2E_JOBS", "128"))


def end_to_end_figures(suite) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """``takeoff -m`` + ``takeoff-report`` of story jobs on 2 workers against their compiled simulation / 2.

    The fixed start-up (interpreters, imports, the cluster's start, the report's
    start) is the wall time of the same two commands for one job of one cycle.
    """
    run = compose("+experiment=story")
    simulated = 0.0
    for seed in range(E2E_JOBS):
        start = time.perf_counter()
        COMPILED(run.world(), suite, cycles=run.cycles, run_seed=seed, seed_indices=range(run.seeds))
        simulated += time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        def pipeline(name: str, *overrides: str) -> float:
            sweep = takeoff("-m", *overrides, "hydra.launcher.n_workers=2", f"hydra.sweep.dir={tmp}/{name}",
                            cwd=Path(tmp))
            return sweep + time_report(Path(tmp) / name / "results.zarr", Path(tmp) / name / "report")

        fixed = pipeline("fixed", "seeds=1", "cycles=1", "seed=0")
        wall = pipeline("story", "+experiment=story", f"seed=range(0,{E2E_JOBS})")
    return {
        "end_to_end_jobs": E2E_JOBS,
        "end_to_end_wall_s": wall,
        "end_to_end_simulate_s": simulated,
        "end_to_end_efficiency": simulated / 2 / wall,
        "startup_s": fixed,
    }


def main() -> None:
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    start = time.perf_counter()
    suite = build_suite(compose().tasks)
    figures: dict[str, float] = {}
    print("takeoff benchmark (median of repeats; 2-core machines are noisy, ratios hold)\n")
    figures |= kernel_figures(suite)
    for label, key in (("compiled kernel, saturated (16 seeds x 1024 slots)", "kernel_instance_cycles_per_s"),
                       ("numpy stages, same workload", "numpy_instance_cycles_per_s"),
                       ("reference, same workload (1 seed)", "reference_instance_cycles_per_s")):
        print(f"{label:<48} {figures[key]:>12.3g} instance-cycles/s")
    print(f"{'kernel speedup vs reference':<48} {figures['kernel_speedup_vs_reference']:>12.1f} x")
    print(f"{'kernel speedup vs numpy stages':<48} {figures['kernel_speedup_vs_numpy']:>12.1f} x")
    print(f"{'kernel state per instance slot':<48} {figures['bytes_per_instance_slot']:>12.0f} bytes")
    print(
        f"{'peak traced memory per instance slot':<48} {figures['peak_bytes_per_instance_slot']:>12.0f} bytes"
    )
    costs = stage_costs(suite)
    figures["stage_ns_per_instance_cycle"] = {k: round(v, 2) for k, v in costs.items()}  # type: ignore[assignment]
    print("\nwhere a saturated instance-cycle goes (compiled kernel):")
    for name, ns in sorted(costs.items(), key=lambda item: -item[1]):
        print(f"  {name:<28} {ns:6.1f} ns")
    print(f"  {'total':<28} {sum(costs.values()):6.1f} ns")
    print("\nscaling (seconds per instance-cycle should stay flat):")
    for axis, value, cost in scaling(suite):
        print(f"  {axis:<8} {value:>6}   {cost * 1e9:8.1f} ns per instance-cycle")
    wild = wild_figures(suite)
    wild_report(wild)
    figures |= {k: v for k, v in wild.items() if k != "peak_rss_mb"}
    figures |= store_figures(suite)
    print(f"\n{'story run: simulate':<48} {figures['story_simulate_s']:>12.3f} s")
    print(f"{'story run: simulate, numpy stages':<48} {figures['story_simulate_numpy_s']:>12.3f} s")
    print(
        f"{'story run: write (batch of 8), per run':<48} {figures['story_write_s']:>12.3f} s "
        f"({figures['write_fraction']:.1%} of their simulation)"
    )
    print(f"{'write 100,000 short runs (batches of 5,000)':<48} {figures['write_100000_runs_s']:>12.1f} s")
    print(
        f"{'open a 100,000-run sweep':<48} {figures['open_100000_runs_s']:>12.2f} s "
        f"(peak {figures['open_100000_runs_peak_mb']:.0f} MB traced)"
    )
    print(f"{'takeoff-report of that sweep (stored analysis)':<48} "
          f"{figures['report_100000_runs_s']:>12.1f} s")
    figures |= analysis_figures(suite)
    print(
        f"{'story run: analyse, per world':<48} {figures['analysis_ms_per_world']:>12.2f} ms "
        f"({figures['analysis_vs_simulate']:.2f}x the simulation)"
    )
    figures |= sweep_figures()
    print(f"{'32 story jobs, Hydra basic launcher':<48} {figures['sweep_basic_s']:>12.2f} s")
    print(
        f"{'32 story jobs, Dask launcher, 2 workers':<48} {figures['sweep_dask_s']:>12.2f} s "
        f"({figures['sweep_speedup_vs_basic']:.2f}x)"
    )
    print(f"{'harness overhead per job':<48} {figures['job_overhead_s'] * 1000:>12.1f} ms")
    print(f"{'files in the store per run (32 story jobs)':<48} {figures['files_per_run']:>12.2f}")
    figures |= end_to_end_figures(suite)
    print(
        f"{f'end to end, {E2E_JOBS} story jobs on 2 workers':<48} {figures['end_to_end_wall_s']:>12.1f} s "
        f"(simulation {figures['end_to_end_simulate_s']:.1f} s of one core: "
        f"efficiency {figures['end_to_end_efficiency']:.3f}; fixed start-up {figures['startup_s']:.1f} s)"
    )
    figures["bench_seconds"] = time.perf_counter() - start
    print(json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
