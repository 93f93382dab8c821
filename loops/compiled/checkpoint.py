"""Twin of stage ``checkpoint`` (``loops/stages/checkpoint.py``)."""

from __future__ import annotations

import numpy as np

from loops.compiled import KERNELS
from loops.compiled._jit import jit
from loops.config import CheckpointConfig
from loops.random import StageDraws
from loops.stage import Env, Events
from loops.state import Population


@jit
def _checkpoint(alive: np.ndarray, functional: np.ndarray, diverged: np.ndarray, proxy: np.ndarray,
                skill: np.ndarray, bias: np.ndarray, tools: np.ndarray, guard_intact: np.ndarray,
                since_accept: np.ndarray, ck_valid: np.ndarray, ck_skill: np.ndarray, ck_bias: np.ndarray,
                ck_tools: np.ndarray, ck_guard: np.ndarray, ck_score: np.ndarray, below: np.ndarray,
                tol: float, window: int, save_now: bool, rollbacks: np.ndarray) -> None:
    n_seeds, n_slots, n_domains = skill.shape
    for s in range(n_seeds):
        if diverged[s]:
            continue
        count = 0
        for i in range(n_slots):
            if not alive[s, i]:
                continue
            seen: float = np.float64(proxy[s, i, 0])
            for d in range(1, n_domains):
                seen = seen + np.float64(proxy[s, i, d])
            seen = seen / n_domains
            if seen != seen:
                seen = 0.0  # a crashed instance scores 0
            low = seen < ck_score[s, i] - tol
            degraded = ck_valid[s, i] & ((not functional[s, i]) | low)
            below[s, i] = (below[s, i] + 1) * degraded
            roll = below[s, i] >= window
            if roll:
                for d in range(n_domains):
                    skill[s, i, d] = ck_skill[s, i, d]
                bias[s, i] = ck_bias[s, i]
                tools[s, i] = ck_tools[s, i]
                guard_intact[s, i] = ck_guard[s, i]
                functional[s, i] = True
                below[s, i] = 0
                since_accept[s, i] = 0
                count += 1
            elif save_now & functional[s, i] & ((not ck_valid[s, i]) | (not low)):
                for d in range(n_domains):
                    ck_skill[s, i, d] = skill[s, i, d]
                ck_bias[s, i] = bias[s, i]
                ck_tools[s, i] = tools[s, i]
                ck_guard[s, i] = guard_intact[s, i]
                ck_score[s, i] = seen
                ck_valid[s, i] = True
        rollbacks[s] = count


@KERNELS.register("checkpoint")
def run(state: Population, cfg: CheckpointConfig, draws: StageDraws, env: Env) -> Events:
    """Roll back degraded instances, then save checkpoints on schedule (see the numpy twin)."""
    rollbacks = np.zeros(state.n_seeds, np.int64)
    _checkpoint(state.alive, state.functional, state.diverged, state.proxy, state.skill, state.bias,
                state.tools, state.guard_intact, state.since_accept, state.ck_valid, state.ck_skill,
                state.ck_bias, state.ck_tools, state.ck_guard, state.ck_score, state.below,
                float(cfg.tol), int(cfg.window), env.cycle % cfg.every == 0, rollbacks)
    return Events(rollbacks=rollbacks)
