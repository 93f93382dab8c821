"""Twin of stage ``propose`` (``loops/stages/propose.py``).

Draws are taken only where the numpy path uses them: the same coordinates
give the same bits, so skipping the unused ones changes nothing.
"""

from __future__ import annotations

import math

import numpy as np

from loops.compiled import KERNELS
from loops.compiled._common import at_least
from loops.compiled._jit import jit
from loops.compiled.elementary import exp
from loops.compiled.random import normal, stage_key, uniform
from loops.config import ProposeConfig
from loops.random import StageDraws
from loops.stage import Env, Events
from loops.stages.propose import hallucination_rate
from loops.state import Population
from loops.tools import N_TOOLS, OFFLINE_MASK, ONLINE_MASK


@jit
def _propose(alive: np.ndarray, functional: np.ndarray, diverged: np.ndarray, share: np.ndarray,
             theta: np.ndarray, efficacy: np.ndarray, path: np.ndarray, tools: np.ndarray,
             delta: np.ndarray, dbias: np.ndarray, new_tools: np.ndarray, factor: np.ndarray,
             proposed: np.ndarray, worlds: np.ndarray, cycle: int, stage: int,
             rate: float, returns_less_one: float, sigma: float, p_loop: float, p_loop_or_tool: float,
             gaming: float, p_hallucinate: float, harm: float, loop_sd: float,
             ceiling: float, headroom_scale: float, offer: int, proposals: np.ndarray) -> None:
    n_seeds, n_slots, n_domains = delta.shape
    bounded = not math.isinf(ceiling)
    gains = np.empty(n_slots)
    kinds = np.empty(n_slots, np.uint8)
    for s in range(n_seeds):
        if diverged[s]:
            continue
        key = stage_key(worlds[s], cycle, stage)
        # First, for every slot, who proposes what and the expected gain: a loop
        # without branches, which compiles to SIMD (four hashes and two exp per
        # slot); free slots' values go unused. The kind of a change is a coin
        # flip, so ``&`` and ``|`` rather than ``and`` and ``or``.
        count = 0
        for i in range(n_slots):
            proposing = alive[s, i] & functional[s, i] & (uniform(key, i, 0) < share[s, i])
            hallucinated = uniform(key, i, 1) < p_hallucinate
            u_kind = uniform(key, i, 2)
            is_loop = u_kind < p_loop
            is_tool = (not is_loop) & (u_kind < p_loop_or_tool)
            gamed = (not (is_loop | is_tool)) & (not hallucinated) & (uniform(key, i, 3) < gaming)
            kinds[i] = (proposing | (hallucinated << 1) | (is_loop << 2) | (is_tool << 3)
                        | (gamed << 4))
            proposed[s, i] = proposing
            count += proposing
            th = theta[s, i]
            gain = rate * efficacy[s, i]
            gain = gain * path[s, i]
            gain = gain * exp(returns_less_one * th)
            room = 1.0 - exp(-at_least(ceiling - th, 0.0) / headroom_scale)
            gains[i] = gain * room if bounded else gain
        proposals[s] = count
        for i in range(n_slots):
            kind = kinds[i]
            if not kind & 1:
                continue
            hallucinated = (kind & 2) != 0
            is_loop = (kind & 4) != 0
            is_tool = (kind & 8) != 0
            is_skill = not (is_loop | is_tool)
            gamed = (kind & 16) != 0

            gain = gains[i]
            centre = -harm if hallucinated else 1.0
            if is_skill & (not gamed):
                for d in range(n_domains):
                    delta[s, i, d] = gain * (centre + sigma * normal(key, i, 5 + d))
            else:
                for d in range(n_domains):
                    delta[s, i, d] = 0.0
            if gamed:
                dbias[s, i] = gain * (1.0 + sigma * normal(key, i, 6 + n_domains))
            else:
                dbias[s, i] = 0.0

            held = tools[s, i]
            if is_tool:
                bit = np.uint8(1 << np.intp(uniform(key, i, 4) * N_TOOLS))
                if hallucinated:
                    held = held & ~bit
                elif bit & offer:
                    held = held | bit
            new_tools[s, i] = held

            if is_loop:
                z = normal(key, i, 5 + n_domains)
                factor[s, i] = exp(loop_sd * (z - (harm if hallucinated else 0.0)))
            else:
                factor[s, i] = 1.0


@KERNELS.register("propose")
def run(state: Population, cfg: ProposeConfig, draws: StageDraws, env: Env) -> Events:
    """Draw one proposal per working instance (see the numpy twin)."""
    proposals = np.zeros(state.n_seeds, np.int64)
    _propose(state.alive, state.functional, state.diverged, state.share, state.theta, state.efficacy,
             state.path, state.tools, state.delta, state.dbias, state.new_tools, state.factor,
             state.proposed, draws.worlds, draws.cycle, draws.stage,
             float(cfg.rate), float(cfg.returns - 1.0), float(cfg.sigma), float(cfg.p_loop),
             float(cfg.p_loop + cfg.p_tool), float(cfg.gaming), hallucination_rate(cfg, env.q),
             float(cfg.hallucination_harm), float(cfg.loop_sd), float(env.ceiling),
             float(env.headroom_scale), int(ONLINE_MASK if env.connected else OFFLINE_MASK), proposals)
    return Events(proposals=proposals)
