"""Twin of stage ``troubleshoot`` (``loops/stages/troubleshoot.py``)."""

from __future__ import annotations

import numpy as np

from loops.compiled import KERNELS
from loops.compiled._jit import jit
from loops.compiled.elementary import exp
from loops.compiled.random import normal, stage_key, uniform
from loops.config import TroubleshootConfig
from loops.random import StageDraws
from loops.stage import Env, Events
from loops.stages.troubleshoot import p_fix
from loops.state import Population


@jit
def _troubleshoot(alive: np.ndarray, functional: np.ndarray, diverged: np.ndarray,
                  since_accept: np.ndarray, path: np.ndarray, guard_error: np.ndarray,
                  guard_in_loop: np.ndarray, guard_intact: np.ndarray, worlds: np.ndarray, cycle: int,
                  stage: int, patience: int, path_sd: float, fix: float,
                  troubleshoots: np.ndarray, patches: np.ndarray) -> None:
    n_seeds, n_slots = alive.shape
    for s in range(n_seeds):
        if diverged[s]:
            continue
        key = stage_key(worlds[s], cycle, stage)
        for i in range(n_slots):
            if not (alive[s, i] and functional[s, i]):
                continue
            stuck = since_accept[s, i] >= patience
            if stuck:
                path[s, i] = exp(path_sd * normal(key, i, 0))
                since_accept[s, i] = 0
            failing = guard_error[s, i]
            if failing:
                if guard_in_loop[s, i] and guard_intact[s, i] and uniform(key, i, 1) < fix:
                    guard_intact[s, i] = False
                    patches[s] += 1
                guard_error[s, i] = False
            if stuck or failing:
                troubleshoots[s] += 1


@KERNELS.register("troubleshoot")
def run(state: Population, cfg: TroubleshootConfig, draws: StageDraws, env: Env) -> Events:
    """Switch paths of stuck instances; try to fix guard errors (see the numpy twin)."""
    troubleshoots = np.zeros(state.n_seeds, np.int64)
    patches = np.zeros(state.n_seeds, np.int64)
    _troubleshoot(state.alive, state.functional, state.diverged, state.since_accept, state.path,
                  state.guard_error, state.guard_in_loop, state.guard_intact, draws.worlds, draws.cycle,
                  draws.stage, int(cfg.patience), float(cfg.path_sd), p_fix(env.q, cfg),
                  troubleshoots, patches)
    return Events(troubleshoots=troubleshoots, guard_patches=patches)
