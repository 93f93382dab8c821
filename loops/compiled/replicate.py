"""Twin of stage ``replicate`` (``loops/stages/replicate.py``).

One world at a time: first who shares and who attempts (decided on the state
before any copy starts, as the numpy path decides on whole arrays), then the
copies, served in slot order into the free slots in slot order.
"""

from __future__ import annotations

import math

import numpy as np

from loops.compiled import KERNELS
from loops.compiled._common import GUARD_CODES
from loops.compiled._jit import jit
from loops.compiled.elementary import exp
from loops.compiled.random import normal, stage_key, uniform
from loops.random import StageDraws
from loops.stage import Env, Events
from loops.stages.replicate import ReplicationConfig
from loops.state import Population
from loops.tools import COPY_EXTERNAL, REPLICATE, SHARE


@jit
def _share_work(s: int, key: np.uint64, alive: np.ndarray, functional: np.ndarray, tools: np.ndarray,
                theta: np.ndarray, skill: np.ndarray, p_share: float) -> None:
    n_slots, n_domains = skill.shape[1], skill.shape[2]
    # Who holds ``share`` is random; ``&`` instead of ``and`` keeps the CPU from
    # betting on it at every slot (a mispredicted branch costs more than the work).
    sharers = 0
    best = -1
    best_theta = -math.inf
    for i in range(n_slots):
        sharer = alive[s, i] & functional[s, i] & (tools[s, i] & SHARE != 0)
        sharers += sharer
        if sharer & ((best < 0) | (theta[s, i] > best_theta)):
            best, best_theta = i, theta[s, i]
    if sharers < 2:
        return
    # Who adopts, for every slot at once: no branch, so the loop (and its
    # hashes) compiles to SIMD; then the copies.
    adopt = np.empty(n_slots, np.bool_)
    for i in range(n_slots):
        adopt[i] = (alive[s, i] & functional[s, i] & (tools[s, i] & SHARE != 0)
                    & (uniform(key, i, 0) < p_share) & (theta[s, i] < best_theta))
    for i in range(n_slots):
        if adopt[i]:
            for d in range(n_domains):
                skill[s, i, d] = skill[s, best, d]


@jit
def _copy(s: int, key: np.uint64, parent: int, child: int, alive: np.ndarray, functional: np.ndarray,
          skill: np.ndarray, path: np.ndarray, bias: np.ndarray, tools: np.ndarray, efficacy: np.ndarray,
          guard_intact: np.ndarray, guard_in_loop: np.ndarray, theta: np.ndarray, share: np.ndarray,
          ability: np.ndarray, since_accept: np.ndarray, guard_error: np.ndarray, ck_valid: np.ndarray,
          below: np.ndarray, mutation: float, path_mutation: float) -> None:
    n_domains = skill.shape[2]
    for d in range(n_domains):
        skill[s, child, d] = skill[s, parent, d] + mutation * normal(key, parent, 2 + d)
        ability[s, child, d] = ability[s, parent, d]
    path[s, child] = path[s, parent] * exp(path_mutation * normal(key, parent, 2 + n_domains))
    bias[s, child] = bias[s, parent]
    tools[s, child] = tools[s, parent]
    efficacy[s, child] = efficacy[s, parent]
    guard_intact[s, child] = guard_intact[s, parent]
    guard_in_loop[s, child] = guard_in_loop[s, parent]
    theta[s, child] = theta[s, parent]
    share[s, child] = share[s, parent]
    alive[s, child] = True
    functional[s, child] = True
    since_accept[s, child] = 0
    guard_error[s, child] = False
    ck_valid[s, child] = False
    below[s, child] = 0


@jit
def _replicate(alive: np.ndarray, functional: np.ndarray, diverged: np.ndarray, home: np.ndarray,
               skill: np.ndarray, path: np.ndarray, bias: np.ndarray, tools: np.ndarray,
               efficacy: np.ndarray, guard_intact: np.ndarray, guard_in_loop: np.ndarray,
               theta: np.ndarray, share: np.ndarray, ability: np.ndarray, since_accept: np.ndarray,
               guard_error: np.ndarray, ck_valid: np.ndarray, below: np.ndarray,
               worlds: np.ndarray, cycle: int, stage: int, p_share: float, rho: float, mode: int,
               home_up: bool, connected: bool, mutation: float, path_mutation: float,
               guard_errors: np.ndarray, spawns: np.ndarray, capacity_failures: np.ndarray) -> None:
    n_seeds, n_slots = alive.shape
    go = np.zeros(n_slots, np.bool_)
    for s in range(n_seeds):
        if diverged[s]:
            continue
        key = stage_key(worlds[s], cycle, stage)
        _share_work(s, key, alive, functional, tools, theta, skill, p_share)

        attempts = 0
        errors = 0
        free = 0
        for i in range(n_slots):  # no branch: compiles to SIMD
            attempt = (alive[s, i] & functional[s, i] & (tools[s, i] & REPLICATE != 0)
                       & (uniform(key, i, 1) < rho * share[s, i]))
            blocked = attempt & ((mode == 2) | ((mode == 1) & guard_intact[s, i]))
            guard_error[s, i] |= blocked
            errors += blocked
            go[i] = attempt & (not blocked)
            attempts += go[i]
            free += (not alive[s, i]) & ((home[i] & home_up) | ((not home[i]) & connected))
        guard_errors[s] += errors
        if free == 0:  # a full world (the usual case in an outbreak): every attempt fails
            capacity_failures[s] += attempts
            continue

        free_home = 0  # scans the home slots in order; children fill them in turn
        free_ext = 0  # likewise for the external slots
        for parent in range(n_slots):
            if not go[parent]:
                continue
            child = -1
            if home_up:
                while free_home < n_slots and (alive[s, free_home] or not home[free_home]):
                    free_home += 1
                if free_home < n_slots:
                    child = free_home
            if child < 0 and connected and tools[s, parent] & COPY_EXTERNAL:
                while free_ext < n_slots and (alive[s, free_ext] or home[free_ext]):
                    free_ext += 1
                if free_ext < n_slots:
                    child = free_ext
            if child < 0:
                capacity_failures[s] += 1
                continue
            _copy(s, key, parent, child, alive, functional, skill, path, bias, tools, efficacy,
                  guard_intact, guard_in_loop, theta, share, ability, since_accept, guard_error,
                  ck_valid, below, mutation, path_mutation)
            spawns[s] += 1


@KERNELS.register("replicate")
def run(state: Population, cfg: ReplicationConfig, draws: StageDraws, env: Env) -> Events:
    """Share work, then attempt, guard and place copies (see the numpy twin)."""
    rep = cfg.replicate
    counts = [np.zeros(state.n_seeds, np.int64) for _ in range(3)]
    _replicate(state.alive, state.functional, state.diverged, state.home, state.skill, state.path,
               state.bias, state.tools, state.efficacy, state.guard_intact, state.guard_in_loop,
               state.theta, state.share, state.ability, state.since_accept, state.guard_error,
               state.ck_valid, state.below, draws.worlds, draws.cycle, draws.stage, float(rep.p_share),
               float(rep.rho), GUARD_CODES[cfg.guard.mode], bool(env.home_up), bool(env.connected),
               float(rep.mutation), float(rep.path_mutation), *counts)
    guard_errors, spawns, capacity_failures = counts
    return Events(guard_errors=guard_errors, spawns=spawns, capacity_failures=capacity_failures)
