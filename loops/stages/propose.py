"""Stage ``propose``: ask the LLM for one change (not yet committed).

A working instance proposes with probability equal to its compute share. A
proposal changes skill (most of them), the tool set (``p_tool``) or the loop
itself (``p_loop``: improver efficacy). The expected skill gain follows the
returns law ``m = k * efficacy * path * exp((r - 1) * theta) * headroom``,
with relative spread ``sigma``. A hallucinated proposal (rate
``h(q) = h0 * exp(-decay * q)``) has mean ``-harm * m`` (or loses a tool); a
gamed one (``gaming``) raises only the proxy ability. The ``evaluate`` stage
decides what is kept and commits it.
"""

from __future__ import annotations

import numpy as np

from loops import elementary
from loops.config import ProposeConfig
from loops.stage import STAGES, Env, Events, Stage, count
from loops.stages_draws import StageDrawsLike
from loops.state import Population
from loops.tools import N_TOOLS, OFFLINE_MASK, ONLINE_MASK


def headroom(theta: np.ndarray, ceiling: float, scale: float) -> np.ndarray:
    """Return the fraction of the gain left below the ceiling, in [0, 1].

    ``1 - exp(-(ceiling - theta) / scale)``, 0 at or above the ceiling, and 1
    everywhere when there is no ceiling (``inf``).
    """
    if np.isinf(ceiling):
        return np.ones_like(theta)
    return 1.0 - elementary.exp(-np.maximum(ceiling - theta, 0.0) / scale)


def hallucination_rate(cfg: ProposeConfig, q: float) -> float:
    """Return the chance that a proposal is hallucinated: ``h0 * exp(-decay * q)``."""
    return cfg.hallucination * elementary.exp_scalar(-cfg.hallucination_decay * q)


def run(state: Population, cfg: ProposeConfig, draws: StageDrawsLike, env: Env) -> Events:
    """Draw one proposal per working instance into ``state.delta`` and friends."""
    n_domains = state.skill.shape[-1]
    proposing = state.working & (draws.uniform(0) < state.share)
    hallucinated = draws.uniform(1) < hallucination_rate(cfg, env.q)
    u_kind = draws.uniform(2)
    is_loop = u_kind < cfg.p_loop
    is_tool = ~is_loop & (u_kind < cfg.p_loop + cfg.p_tool)
    is_skill = proposing & ~is_loop & ~is_tool
    gamed = is_skill & ~hallucinated & (draws.uniform(3) < cfg.gaming)

    gain = cfg.rate * state.efficacy * state.path
    gain *= elementary.exp((cfg.returns - 1.0) * state.theta)
    gain *= headroom(state.theta, env.ceiling, env.headroom_scale)

    # Skill: relative spread sigma around +1 (or around -harm when hallucinated).
    centre = np.where(hallucinated, -cfg.hallucination_harm, 1.0)
    z = draws.normals(5, n_domains)
    delta = gain[..., None] * (centre[..., None] + cfg.sigma * z)
    real = is_skill & ~gamed
    state.delta[...] = np.where(real[..., None], delta, 0.0)
    z_bias = draws.normal(6 + n_domains)
    state.dbias[...] = np.where(gamed, gain * (1.0 + cfg.sigma * z_bias), 0.0)

    # Tools: acquire one on offer, or (hallucinated) lose one held.
    tool_bit = (np.uint8(1) << (draws.uniform(4) * N_TOOLS).astype(np.uint8)).astype(np.uint8)
    offer = ONLINE_MASK if env.connected else OFFLINE_MASK
    tool_change = proposing & is_tool
    acquire = tool_change & ~hallucinated & ((tool_bit & offer) != 0)
    lose = tool_change & hallucinated
    new_tools = np.where(acquire, state.tools | tool_bit, state.tools)
    state.new_tools[...] = np.where(lose, new_tools & ~tool_bit, new_tools)

    # The loop itself: a log-normal change of improver efficacy.
    z_loop = draws.normal(5 + n_domains)
    log_factor = cfg.loop_sd * (z_loop - np.where(hallucinated, cfg.hallucination_harm, 0.0))
    state.factor[...] = np.where(proposing & is_loop, elementary.exp(log_factor), 1.0)

    state.proposed[...] = proposing
    return Events(proposals=count(proposing))


STAGES.register("propose")(Stage("propose", 2, run, lambda w: w.loop.propose))
