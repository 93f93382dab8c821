"""Twin of ``loops.recorder.Recorder.observe``: divergence, then one kept cycle's record."""

from __future__ import annotations

import math

import numpy as np

from loops.compiled._jit import jit
from loops.recorder import Recorder
from loops.state import Population


@jit
def _diverge(alive: np.ndarray, functional: np.ndarray, diverged: np.ndarray, theta: np.ndarray,
             theta_max: float, cycle: int, diverged_cycle: np.ndarray) -> None:
    n_seeds, n_slots = alive.shape
    for s in range(n_seeds):
        if diverged[s]:
            continue
        for i in range(n_slots):
            if alive[s, i] and functional[s, i] and not theta[s, i] <= theta_max:
                diverged[s] = True
                diverged_cycle[s] = cycle
                break


@jit
def _observe(alive: np.ndarray, functional: np.ndarray, diverged: np.ndarray, home: np.ndarray,
             score: np.ndarray, proxy: np.ndarray, ability: np.ndarray, guard_intact: np.ndarray,
             since_accept: np.ndarray, share: np.ndarray, patience: int, k: int,
             mean_score: np.ndarray, mean_proxy: np.ndarray, mean_ability: np.ndarray,
             max_ability: np.ndarray, instances: np.ndarray, external: np.ndarray, intact: np.ndarray,
             crashed: np.ndarray, stuck: np.ndarray, rows: np.ndarray, compute: np.ndarray) -> None:
    n_seeds, n_slots, n_domains = ability.shape
    sums = np.zeros((3, n_domains))
    best = np.empty(n_domains)
    for s in range(n_seeds):
        if diverged[s]:
            continue  # blanked by Recorder.finish
        sums[:] = 0.0
        best[:] = -math.inf
        n = 0
        on_home = 0
        outside = 0
        guarded = 0
        broken = 0
        stalled = 0
        total_share = 0.0
        for i in range(n_slots):
            if not alive[s, i]:
                continue
            # Counts by arithmetic, not branches: which instances hold a guard
            # or are stuck is random, and a mispredicted branch costs more.
            on_home += home[i]
            outside += not home[i]
            guarded += guard_intact[s, i]
            broken += not functional[s, i]
            if not functional[s, i]:
                continue
            n += 1
            stalled += since_accept[s, i] >= patience
            total_share += share[s, i]
            for d in range(n_domains):
                sums[0, d] += np.float64(score[s, i, d])
                sums[1, d] += np.float64(proxy[s, i, d])
                a = ability[s, i, d]
                sums[2, d] += a
                if a > best[d]:
                    best[d] = a
        for d in range(n_domains):
            if n > 0:
                mean_score[s, k, d] = sums[0, d] / n
                mean_proxy[s, k, d] = sums[1, d] / n
                mean_ability[s, k, d] = sums[2, d] / n
                max_ability[s, k, d] = best[d]
            else:
                mean_score[s, k, d] = math.nan
                mean_proxy[s, k, d] = math.nan
                mean_ability[s, k, d] = math.nan
                max_ability[s, k, d] = math.nan
        instances[s, k] = on_home
        external[s, k] = outside
        intact[s, k] = guarded
        crashed[s, k] = broken
        stuck[s, k] = stalled
        rows[s, k] = n * n_domains
        compute[s, k] = total_share / n if n > 0 else 0.0


def observe(recorder: Recorder, state: Population, cycle: int) -> None:
    """Mark divergence, then record the state as the benchmark just measured it."""
    _diverge(state.alive, state.functional, state.diverged, state.theta, recorder.theta_max, cycle,
             recorder.diverged_cycle)
    if cycle % recorder.every:
        return
    k = cycle // recorder.every
    if not 0 <= k < recorder.kept.size:  # the kernel does not check bounds: refuse here
        raise IndexError(f"cycle {cycle} is outside the recorder's {recorder.kept.size} kept cycles")
    data = recorder.data
    _observe(state.alive, state.functional, state.diverged, state.home, state.score, state.proxy,
             state.ability, state.guard_intact, state.since_accept, state.share, recorder.patience,
             k, data["score"], data["proxy_score"], data["ability"],
             data["ability_max"], data["instances"], data["instances_external"], data["guard_intact"],
             data["crashed"], data["stuck"], data["results_rows"], data["compute_share"])
