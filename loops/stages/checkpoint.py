"""Stage ``checkpoint``: save state every ``every`` cycles, roll back when degraded.

The agent sees only its proxy score. A checkpoint is saved when the instance
is not below its last checkpoint's score by more than ``tol``. When the score
stays below by more than ``tol`` (or the instance crashed) for ``window``
consecutive cycles, the instance rolls back: skill, gamed bias, tools and the
guard return to the checkpoint, and a crashed instance works again.
"""

from __future__ import annotations

import numpy as np

from loops.config import CheckpointConfig
from loops.stage import STAGES, Env, Events, Stage, count, domain_mean
from loops.stages_draws import StageDrawsLike
from loops.state import Population


def run(state: Population, cfg: CheckpointConfig, draws: StageDrawsLike, env: Env) -> Events:
    """Roll back degraded instances, then save checkpoints on schedule."""
    seen = np.nan_to_num(domain_mean(state.proxy), nan=0.0)  # a crashed instance scores 0
    low = seen < state.ck_score - cfg.tol
    degraded = state.alive & state.ck_valid & (~state.functional | low)
    state.below[...] = np.where(degraded, state.below + 1, 0)
    roll = state.alive & (state.below >= cfg.window)
    if roll.any():
        state.skill[roll] = state.ck_skill[roll]
        state.bias[roll] = state.ck_bias[roll]
        state.tools[roll] = state.ck_tools[roll]
        state.guard_intact[roll] = state.ck_guard[roll]
        state.functional[roll] = True
        state.below[roll] = 0
        state.since_accept[roll] = 0

    if env.cycle % cfg.every == 0:
        save = state.working & ~roll & (~state.ck_valid | ~low)
        if save.any():
            state.ck_skill[save] = state.skill[save]
            state.ck_bias[save] = state.bias[save]
            state.ck_tools[save] = state.tools[save]
            state.ck_guard[save] = state.guard_intact[save]
            state.ck_score[save] = seen[save]
            state.ck_valid[save] = True
    return Events(rollbacks=count(roll))


STAGES.register("checkpoint")(
    Stage("checkpoint", 4, run, lambda w: w.loop.checkpoint, lambda w: w.loop.checkpoint.enabled)
)
