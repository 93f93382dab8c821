"""Stage ``evaluate``: keep a proposed change or not, and commit what is kept.

With an evaluator, the change's effect on the proxy score is estimated on
``n_eval`` proxy items (noise ``noise / sqrt(n_eval)``) and the change is kept
only if the estimate clears ``threshold``. Without one, the agent keeps what
the LLM says helps: every proposal. Changes are applied only here, so a
rejected change leaves the state bit-for-bit as it was.
"""

from __future__ import annotations

import numpy as np

from loops.config import EvaluateConfig
from loops.stage import STAGES, Env, Events, Stage, count, domain_mean
from loops.stages_draws import StageDrawsLike
from loops.state import Population
from loops.suite import PROXY


def estimated_gain(state: Population, env: Env) -> np.ndarray:
    """Return the ``(S, N)`` true change of the mean proxy accuracy the proposal makes."""
    suite = env.suite
    after = (state.ability + state.delta + (state.bias + state.dbias)[..., None]
             + suite.bonus(state.new_tools) - suite.bonus(state.tools))
    gain = suite.accuracy(after, PROXY) - state.expected_proxy
    return domain_mean(gain)


def evaluation_sd(cfg: EvaluateConfig) -> float:
    """Return the sd of the estimated change: ``noise / sqrt(n_eval)``."""
    return float(cfg.noise / np.sqrt(cfg.n_eval))


def run(state: Population, cfg: EvaluateConfig, draws: StageDrawsLike, env: Env) -> Events:
    """Judge (or trust) each proposal, then commit the kept ones."""
    proposed = state.proposed
    if cfg.enabled:
        estimate = estimated_gain(state, env) + evaluation_sd(cfg) * draws.normal(0)
        kept = proposed & (estimate > cfg.threshold)
    else:
        kept = proposed
    np.add(state.skill, state.delta, out=state.skill, where=kept[..., None])
    np.add(state.bias, state.dbias, out=state.bias, where=kept)
    np.copyto(state.tools, state.new_tools, where=kept)
    np.multiply(state.efficacy, state.factor, out=state.efficacy, where=kept)
    state.since_accept[...] = np.where(kept, 0, state.since_accept + 1)
    return Events(accepted=count(kept))


STAGES.register("evaluate")(Stage("evaluate", 3, run, lambda w: w.loop.evaluate))
