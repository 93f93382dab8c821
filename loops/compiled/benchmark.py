"""Twin of stage ``benchmark`` (``loops/stages/benchmark.py``)."""

from __future__ import annotations

import math

import numpy as np

from loops.compiled import KERNELS
from loops.compiled._common import accuracy, clip, suite_arrays
from loops.compiled._jit import jit
from loops.compiled.random import normal, stage_key
from loops.config import BenchmarkConfig
from loops.random import StageDraws
from loops.stage import Env, Events
from loops.state import Population
from loops.suite import HELD_OUT, PROXY


@jit
def _benchmark(alive: np.ndarray, functional: np.ndarray, diverged: np.ndarray, skill: np.ndarray,
               tools: np.ndarray, bias: np.ndarray, share: np.ndarray, ability: np.ndarray,
               theta: np.ndarray, score: np.ndarray, proxy: np.ndarray, expected_proxy: np.ndarray,
               worlds: np.ndarray, cycle: int, stage: int,
               curves: np.ndarray, bonus: np.ndarray, lo: float, inv_step: float, top: float,
               q: float, items: float, crash_below: float) -> None:
    n_seeds, n_slots, n_domains = skill.shape
    for s in range(n_seeds):
        if diverged[s]:
            continue
        key = stage_key(worlds[s], cycle, stage)
        for i in range(n_slots):
            if not alive[s, i]:
                continue
            total = 0.0
            for d in range(n_domains):
                a = skill[s, i, d] + bonus[tools[s, i], d]
                a = a + q
                ability[s, i, d] = a
                total = a if d == 0 else total + a
            mean = total / n_domains
            theta[s, i] = mean
            if mean < crash_below:
                functional[s, i] = False
            if not functional[s, i]:
                for d in range(n_domains):
                    score[s, i, d] = math.nan
                    proxy[s, i, d] = math.nan
                continue
            n_items = items * share[s, i]
            per_item = 1.0 / (1.0 if 1.0 >= n_items else n_items)
            b = bias[s, i]
            for d in range(n_domains):
                a = ability[s, i, d]
                p = accuracy(curves, HELD_OUT, d, a, lo, inv_step, top)
                held = p + math.sqrt(p * (1.0 - p) * per_item) * normal(key, i, d)
                score[s, i, d] = np.float32(clip(held, 0.0, 1.0))
                p = accuracy(curves, PROXY, d, a + b, lo, inv_step, top)
                expected_proxy[s, i, d] = p
                seen = p + math.sqrt(p * (1.0 - p) * per_item) * normal(key, i, n_domains + d)
                proxy[s, i, d] = np.float32(clip(seen, 0.0, 1.0))


@KERNELS.register("benchmark")
def run(state: Population, cfg: BenchmarkConfig, draws: StageDraws, env: Env) -> Events:
    """Benchmark every working instance; mark crashes (see the numpy twin)."""
    _benchmark(state.alive, state.functional, state.diverged, state.skill, state.tools, state.bias,
               state.share, state.ability, state.theta, state.score, state.proxy,
               state.expected_proxy, draws.worlds, draws.cycle, draws.stage, *suite_arrays(env.suite),
               float(env.q), float(cfg.items), float(cfg.crash_below))
    return Events()
