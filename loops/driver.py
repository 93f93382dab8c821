"""The cycle driver: run a variant's stages, cycle after cycle, and record.

Read :func:`simulate` top to bottom: it is the whole core loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from loops import memory
from loops.config import WorldConfig
from loops.engine import Engine, select
from loops.random import DRAWS_PER_SLOT, Streams
from loops.record import Trajectory
from loops.recorder import Recorder
from loops.stage import STAGES, Env, Stage
from loops.stages import CYCLE_ORDER
from loops.stages.interventions import environment
from loops.state import Population, initial_population
from loops.suite import BenchmarkSuite

#: At most this many domains fit the per-slot draw budget of the benchmark stage.
MAX_DOMAINS = DRAWS_PER_SLOT // 4


def enabled_stages(world: WorldConfig) -> list[Stage]:
    """Return the stages a world config runs, in cycle order."""
    stages = [STAGES.get(name) for name in CYCLE_ORDER]
    return [stage for stage in stages if stage.enabled(world)]


def allocate_compute(state: Population, world: WorldConfig) -> None:
    """Give each working instance its server's fraction of a cycle (in place).

    When demand exceeds a server's compute, its instances share it equally.
    """
    working = state.working
    on_home = (working & state.home).sum(axis=1)
    on_ext = (working & ~state.home).sum(axis=1)
    cap = world.capacity
    home = np.minimum(1.0, cap.compute_home / np.maximum(on_home, 1))
    ext = np.minimum(1.0, cap.compute_external / np.maximum(on_ext, 1))
    state.share[...] = np.where(state.home[None, :], home[:, None], ext[:, None])


def simulate(
    world: WorldConfig,
    suite: BenchmarkSuite,
    *,
    cycles: int,
    run_seed: int,
    seed_indices: Sequence[int],
    record_every: int = 1,
    engine: str | Engine = "auto",
) -> Trajectory:
    """Simulate the worlds ``seed_indices`` of one run for ``cycles`` cycles.

    Parameters
    ----------
    world
        The loop variant, LLM schedule, first instance, interventions, servers.
    suite
        The benchmark suite (accuracy curves, tool bonuses).
    cycles
        Cycles to simulate.
    run_seed
        The run's seed; with a seed index it keys every random draw.
    seed_indices
        Which worlds to simulate. World ``i`` is bit-identical whether
        simulated alone or in any batch.
    record_every
        Keep every n-th cycle (events are summed over the interval).
    engine
        ``numba`` (the compiled kernel), ``numpy`` (the stages as written) or
        ``auto`` (numba if it imports), or an :class:`~loops.engine.Engine`
        (the benchmark passes one that times each stage). Both give the same bits.

    Returns
    -------
    Trajectory
        The record, ``(seed, cycle[, domain])`` arrays.

    Raises
    ------
    loops.params.ConfigError
        When the run would need more memory than this machine has available
        (:mod:`loops.memory`), before anything is allocated.

    Examples
    --------
    >>> from harness.config import TasksConfig
    >>> from harness.suites import build_suite
    >>> traj = simulate(WorldConfig(), build_suite(TasksConfig()), cycles=5,
    ...                 run_seed=0, seed_indices=range(2))
    >>> traj.score.shape
    (2, 5, 3)
    """
    n_domains = len(suite.domains)
    if not 1 <= n_domains <= MAX_DOMAINS:
        raise ValueError(f"{n_domains} domains; allowed: 1..{MAX_DOMAINS}")
    seeds = np.asarray(seed_indices, dtype=np.int64)
    memory.check(world, seeds=len(seeds), cycles=cycles, record_every=record_every, domains=n_domains)
    state = initial_population(world, len(seeds), n_domains)
    streams = Streams(run_seed, seeds.tolist())
    impl = engine if isinstance(engine, Engine) else select(engine)
    stages = [(stage, impl.run(stage), stage.config(world)) for stage in enabled_stages(world)]
    recorder = Recorder(world, seeds, suite.domains, cycles=cycles, every=record_every)
    wild = None
    if world.wild.enabled:  # act 2 (DESIGN 2b); its compiled kernels are imported only then
        from loops.wild.run import WildRun

        wild = WildRun(world, streams.worlds)

    for cycle in range(cycles):
        env: Env = environment(world, suite, cycle)
        impl.allocate(state, world)
        for stage, run, cfg in stages:
            draws = streams.stage(cycle, stage.number, state.n_slots)
            events = run(state, cfg, draws, env)
            if stage.name == "benchmark":
                impl.observe(recorder, state, cycle)  # what this cycle's benchmark measured
            recorder.add_events(events, cycle)
        if wild is not None:
            wild.step(state, cycle, recorder)
    return recorder.finish()
