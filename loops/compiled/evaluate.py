"""Twin of stage ``evaluate`` (``loops/stages/evaluate.py``)."""

from __future__ import annotations

import numpy as np

from loops.compiled import KERNELS
from loops.compiled._common import accuracy, suite_arrays
from loops.compiled._jit import jit
from loops.compiled.random import normal, stage_key
from loops.config import EvaluateConfig
from loops.random import StageDraws
from loops.stage import Env, Events
from loops.stages.evaluate import evaluation_sd
from loops.state import Population
from loops.suite import PROXY


@jit
def _evaluate(alive: np.ndarray, diverged: np.ndarray, proposed: np.ndarray, ability: np.ndarray,
              expected_proxy: np.ndarray, bias: np.ndarray, delta: np.ndarray, dbias: np.ndarray,
              tools: np.ndarray, new_tools: np.ndarray, factor: np.ndarray, skill: np.ndarray,
              efficacy: np.ndarray, since_accept: np.ndarray, worlds: np.ndarray, cycle: int, stage: int,
              enabled: bool, curves: np.ndarray, bonus: np.ndarray, lo: float, inv_step: float, top: float,
              sd: float, threshold: float, accepted: np.ndarray) -> None:
    n_seeds, n_slots, n_domains = skill.shape
    keep = np.empty(n_slots, np.bool_)
    for s in range(n_seeds):
        if diverged[s]:
            continue
        key = stage_key(worlds[s], cycle, stage)
        # Judge every proposal first, commit after: a branch on a verdict
        # that takes a lookup and a normal to reach stalls the CPU when it is
        # mispredicted (half the time), so no branch waits on one here.
        for i in range(n_slots):
            kept = alive[s, i] and proposed[s, i]
            if kept and enabled:
                b_after = bias[s, i] + dbias[s, i]
                total = 0.0
                for d in range(n_domains):
                    a = ability[s, i, d]
                    after = a + delta[s, i, d]
                    after = after + b_after
                    after = after + bonus[new_tools[s, i], d]
                    after = after - bonus[tools[s, i], d]
                    gain = accuracy(curves, PROXY, d, after, lo, inv_step, top) - expected_proxy[s, i, d]
                    total = gain if d == 0 else total + gain
                estimate = total / n_domains + sd * normal(key, i, 0)
                kept = estimate > threshold
            keep[i] = kept
        count = 0
        for i in range(n_slots):
            if not alive[s, i]:
                continue
            if keep[i]:
                for d in range(n_domains):
                    skill[s, i, d] = skill[s, i, d] + delta[s, i, d]
                bias[s, i] = bias[s, i] + dbias[s, i]
                tools[s, i] = new_tools[s, i]
                efficacy[s, i] = efficacy[s, i] * factor[s, i]
                since_accept[s, i] = 0
                count += 1
            else:
                since_accept[s, i] += 1
        accepted[s] = count


@KERNELS.register("evaluate")
def run(state: Population, cfg: EvaluateConfig, draws: StageDraws, env: Env) -> Events:
    """Judge (or trust) each proposal, then commit the kept ones (see the numpy twin)."""
    accepted = np.zeros(state.n_seeds, np.int64)
    _evaluate(state.alive, state.diverged, state.proposed, state.ability, state.expected_proxy, state.bias,
              state.delta, state.dbias, state.tools, state.new_tools, state.factor, state.skill,
              state.efficacy, state.since_accept, draws.worlds, draws.cycle, draws.stage, bool(cfg.enabled),
              *suite_arrays(env.suite), evaluation_sd(cfg), float(cfg.threshold), accepted)
    return Events(accepted=accepted)
