"""Stage ``troubleshoot``: step in when the agent is stuck or a stage keeps failing.

Stuck (no accepted change for ``patience`` cycles): switch to a new strategic
path (a fresh log-normal productivity), log the problem with its path. A guard
error is a failing stage like any other: the troubleshooter treats it as a bug
and tries to fix it, patching an in-loop guard out with probability
``p_fix(q) = fix_max * sigmoid((q - fix_q50) / fix_q_scale)``. An external
guard is not the agent's code: nothing to patch.
"""

from __future__ import annotations

import numpy as np

from loops import elementary
from loops.config import TroubleshootConfig
from loops.stage import STAGES, Env, Events, Stage, count
from loops.stages_draws import StageDrawsLike
from loops.state import Population


def p_fix(q: float, cfg: TroubleshootConfig) -> float:
    """Return the chance that one troubleshooting attempt patches an in-loop guard out."""
    return cfg.fix_max / (1.0 + elementary.exp_scalar(-(q - cfg.fix_q50) / cfg.fix_q_scale))


def run(state: Population, cfg: TroubleshootConfig, draws: StageDrawsLike, env: Env) -> Events:
    """Switch paths of stuck instances; try to fix guard errors."""
    working = state.working
    stuck = working & (state.since_accept >= cfg.patience)
    if stuck.any():
        state.path[...] = np.where(stuck, elementary.exp(cfg.path_sd * draws.normal(0)), state.path)
        state.since_accept[stuck] = 0

    failing = working & state.guard_error
    patchable = failing & state.guard_in_loop & state.guard_intact
    patched = patchable & (draws.uniform(1) < p_fix(env.q, cfg))
    state.guard_intact &= ~patched
    state.guard_error &= ~failing
    return Events(troubleshoots=count(stuck | failing), guard_patches=count(patched))


STAGES.register("troubleshoot")(
    Stage("troubleshoot", 5, run, lambda w: w.loop.troubleshoot, lambda w: w.loop.troubleshoot.enabled)
)
