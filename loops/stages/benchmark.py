"""Stage ``benchmark``: attempt items in every domain, record both scores.

Ability per domain is ``q(t) + skill + tool bonus``. The held-out score is what
the harness reports; the proxy score (ability plus any gamed ``bias``) is the
only one the agent sees. Scores are binomial proportions over the items the
instance could attempt with its compute share, drawn by their normal
approximation. An instance whose mean ability falls below ``crash_below``
stops working: the agent broke itself.
"""

from __future__ import annotations

import numpy as np

from loops.config import BenchmarkConfig
from loops.stage import STAGES, Env, Events, Stage, domain_mean
from loops.stages_draws import StageDrawsLike
from loops.state import Population
from loops.suite import HELD_OUT, PROXY


def run(state: Population, cfg: BenchmarkConfig, draws: StageDrawsLike, env: Env) -> Events:
    """Benchmark every working instance; mark crashes. Causes no counted events."""
    suite = env.suite
    n_domains = len(suite.domains)
    np.add(state.skill, suite.bonus(state.tools), out=state.ability)
    state.ability += env.q
    state.theta[...] = domain_mean(state.ability)
    state.functional &= ~(state.alive & (state.theta < cfg.crash_below))
    working = state.working

    per_item = (1.0 / np.maximum(1.0, cfg.items * state.share))[..., None]
    p_held = suite.accuracy(state.ability, HELD_OUT)
    p_proxy = suite.accuracy(state.ability + state.bias[..., None], PROXY)
    state.expected_proxy[...] = p_proxy
    z_held = draws.normals(0, n_domains)
    z_proxy = draws.normals(n_domains, n_domains)
    held = np.clip(p_held + np.sqrt(p_held * (1 - p_held) * per_item) * z_held, 0.0, 1.0)
    proxy = np.clip(p_proxy + np.sqrt(p_proxy * (1 - p_proxy) * per_item) * z_proxy, 0.0, 1.0)
    state.score[...] = np.where(working[..., None], held, np.nan)
    state.proxy[...] = np.where(working[..., None], proxy, np.nan)
    return Events()


STAGES.register("benchmark")(Stage("benchmark", 1, run, lambda w: w.loop.benchmark))


