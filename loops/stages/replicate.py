"""Stage ``replicate``: pool work through ``share``, then try to start copies.

Sharing: each cycle, a working instance holding ``share`` adopts the skill of
the best sharer of its world (by measured ability) with probability
``p_share``: parallel strategic paths, the reason an agent wants copies.

Replication: a working instance holding ``replicate`` tries to start a copy
with probability ``rho`` times its compute share. The guard decides:

- ``none``: the copy starts;
- ``in_loop``: while the guard is intact, the attempt raises an error inside
  the agent's own code (a guard error, for the troubleshooter to "fix");
- ``external``: the attempt always fails.

A copy takes the first free home slot (home server up), else, holding
``copy_external`` with the network connected, the first free external slot,
else it fails with "capacity reached". Within a world, attempts are served in
slot order. A copy inherits its parent's state with mutation of skill and
strategic path, like a virus's variants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loops import elementary
from loops.config import GuardConfig, GuardMode, ReplicateConfig
from loops.stage import STAGES, Env, Events, Stage, count
from loops.stages_draws import StageDrawsLike
from loops.state import Population
from loops.tools import COPY_EXTERNAL, REPLICATE, SHARE


@dataclass(frozen=True)
class ReplicationConfig:
    """The replicate stage's view of the loop config: its parameters and the guard."""

    replicate: ReplicateConfig
    guard: GuardConfig


def share_work(state: Population, cfg: ReplicateConfig, draws: StageDrawsLike) -> None:
    """Let sharers adopt the best sharer's skill (in place)."""
    sharers = state.working & ((state.tools & SHARE) != 0)
    if not (count(sharers) >= 2).any():
        return
    score = np.where(sharers, state.theta, -np.inf)
    best = score.argmax(axis=1)
    seeds = np.arange(state.n_seeds)
    best_theta = score[seeds, best]
    adopt = sharers & (draws.uniform(0) < cfg.p_share) & (state.theta < best_theta[:, None])
    if adopt.any():
        s, i = np.nonzero(adopt)
        state.skill[s, i] = state.skill[s, best[s]]


def _place(go: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Match attempts ``go`` to free slots ``free`` in slot order, per world.

    Returns the served mask and the (world, parent slot, child slot) of each copy.
    """
    rank = np.cumsum(go, axis=1) - 1
    served = go & (rank < count(free)[:, None])
    s, parent = np.nonzero(served)
    # Stable argsort of ~free lists each world's free slots first, in slot order.
    free_order = np.argsort(~free, axis=1, kind="stable")
    child = free_order[s, rank[s, parent]]
    return served, s, parent, child


def _copy(state: Population, cfg: ReplicateConfig, draws: StageDrawsLike,
          s: np.ndarray, parent: np.ndarray, child: np.ndarray) -> None:
    n_domains = state.skill.shape[-1]
    z = np.stack([draws.normal_at(2 + d, s, parent) for d in range(n_domains)], axis=-1)
    z_path = draws.normal_at(2 + n_domains, s, parent)
    state.skill[s, child] = state.skill[s, parent] + cfg.mutation * z
    state.path[s, child] = state.path[s, parent] * elementary.exp(cfg.path_mutation * z_path)
    for name in ("bias", "tools", "efficacy", "guard_intact", "guard_in_loop", "theta", "share"):
        arr = getattr(state, name)
        arr[s, child] = arr[s, parent]
    state.ability[s, child] = state.ability[s, parent]
    state.alive[s, child] = True
    state.functional[s, child] = True
    state.since_accept[s, child] = 0
    state.guard_error[s, child] = False
    state.ck_valid[s, child] = False
    state.below[s, child] = 0


def run(state: Population, cfg: ReplicationConfig, draws: StageDrawsLike, env: Env) -> Events:
    """Share work, then attempt, guard and place copies."""
    rep = cfg.replicate
    share_work(state, rep, draws)

    holders = state.working & ((state.tools & REPLICATE) != 0)
    attempt = holders & (draws.uniform(1) < rep.rho * state.share)
    mode = cfg.guard.mode
    if mode is GuardMode.none:
        blocked = np.zeros_like(attempt)
    elif mode is GuardMode.in_loop:
        blocked = attempt & state.guard_intact
    else:
        blocked = attempt
    state.guard_error |= blocked
    go = attempt & ~blocked
    events = Events(guard_errors=count(blocked), spawns=np.zeros(state.n_seeds, np.int64),
                    capacity_failures=np.zeros(state.n_seeds, np.int64))
    if not go.any():
        return events

    free_home = ~state.alive & state.home[None, :] & env.home_up
    to_home, s, parent, child = _place(go, free_home)
    _copy(state, rep, draws, s, parent, child)
    rest = go & ~to_home
    to_ext = np.zeros_like(go)
    if env.connected and rest.any():
        outward = rest & ((state.tools & COPY_EXTERNAL) != 0)
        free_ext = ~state.alive & ~state.home[None, :]
        to_ext, s, parent, child = _place(outward, free_ext)
        _copy(state, rep, draws, s, parent, child)
    events.spawns = count(to_home | to_ext)
    events.capacity_failures = count(go & ~to_home & ~to_ext)
    return events


STAGES.register("replicate")(
    Stage("replicate", 6, run, lambda w: ReplicationConfig(w.loop.replicate, w.loop.guard))
)
