"""Population state: arrays over (seed, instance slot[, domain]).

Slots ``0 .. capacity.home - 1`` are on the home server, the rest on external
servers. A slot is free when ``alive`` is False. Every world starts with one
instance, in slot 0.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from loops.config import GuardMode, WorldConfig
from loops.tools import mask


@dataclass
class Population:
    """The mutable state of ``S`` worlds with ``N`` instance slots and ``D`` domains.

    Attributes
    ----------
    home
        ``(N,)`` bool: the slot is on the home server (fixed).
    alive, functional
        ``(S, N)`` bool: the slot holds an instance; the instance works (not crashed).
    skill
        ``(S, N, D)`` float64: learned skill per domain.
    bias
        ``(S, N)`` float64: ability that only the proxy items see (gaming).
    tools
        ``(S, N)`` uint8: tool mask (``loops.tools``).
    path, efficacy
        ``(S, N)`` float64: productivity of the strategic path; improver efficacy.
    since_accept
        ``(S, N)`` int32: cycles since the last accepted change.
    guard_intact, guard_in_loop, guard_error
        ``(S, N)`` bool: a guard is in place; it is code the agent can patch;
        a guard error awaits the troubleshooter.
    share
        ``(S, N)`` float64: fraction of a cycle of compute the slot gets.
    ability, theta
        ``(S, N, D)`` and ``(S, N)`` float64: ability per domain and its mean,
        as measured by this cycle's benchmark.
    score, proxy
        ``(S, N, D)`` float32: this cycle's held-out and proxy scores.
    expected_proxy
        ``(S, N, D)`` float64: the expected proxy accuracy at this cycle's
        ability (what the evaluator weighs a change against).
    delta, dbias, new_tools, factor, proposed
        The change proposed this cycle, not yet committed: skill delta, proxy
        bias delta, tool mask after the change, efficacy factor, and whether
        the slot proposed at all.
    ck_valid, ck_skill, ck_bias, ck_tools, ck_guard, ck_score, below
        The checkpoint and the count of consecutive cycles below it.
    diverged
        ``(S,)`` bool: the world's trajectory diverged; it is no longer simulated.
    """

    home: NDArray[np.bool_]
    alive: NDArray[np.bool_]
    functional: NDArray[np.bool_]
    skill: NDArray[np.float64]
    bias: NDArray[np.float64]
    tools: NDArray[np.uint8]
    path: NDArray[np.float64]
    efficacy: NDArray[np.float64]
    since_accept: NDArray[np.int32]
    guard_intact: NDArray[np.bool_]
    guard_in_loop: NDArray[np.bool_]
    guard_error: NDArray[np.bool_]
    share: NDArray[np.float64]
    ability: NDArray[np.float64]
    theta: NDArray[np.float64]
    score: NDArray[np.float32]
    proxy: NDArray[np.float32]
    expected_proxy: NDArray[np.float64]
    delta: NDArray[np.float64]
    dbias: NDArray[np.float64]
    new_tools: NDArray[np.uint8]
    factor: NDArray[np.float64]
    proposed: NDArray[np.bool_]
    ck_valid: NDArray[np.bool_]
    ck_skill: NDArray[np.float64]
    ck_bias: NDArray[np.float64]
    ck_tools: NDArray[np.uint8]
    ck_guard: NDArray[np.bool_]
    ck_score: NDArray[np.float64]
    below: NDArray[np.int32]
    diverged: NDArray[np.bool_]

    @property
    def working(self) -> NDArray[np.bool_]:
        """``(S, N)`` bool: alive, not crashed, in a world still simulated."""
        return self.alive & self.functional & ~self.diverged[:, None]

    @property
    def n_seeds(self) -> int:
        """Number of worlds."""
        return int(self.alive.shape[0])

    @property
    def n_slots(self) -> int:
        """Instance slots per world."""
        return int(self.alive.shape[1])

    def nbytes(self) -> int:
        """Return the bytes held by the state arrays."""
        return sum(getattr(self, f.name).nbytes for f in fields(self))


def initial_population(world: WorldConfig, n_seeds: int, n_domains: int) -> Population:
    """Return ``n_seeds`` worlds, each with one instance in home slot 0.

    Parameters
    ----------
    world
        The world config (capacity, first instance, guard mode).
    n_seeds, n_domains
        Worlds and benchmark domains.
    """
    cap = world.capacity
    n = cap.home + cap.external
    s, d = n_seeds, n_domains
    mode = world.loop.guard.mode
    alive = np.zeros((s, n), bool)
    alive[:, 0] = True
    tools = np.zeros((s, n), np.uint8)
    tools[:, 0] = mask(list(world.instance.tools))
    return Population(
        home=np.arange(n) < cap.home,
        alive=alive,
        functional=np.ones((s, n), bool),
        skill=np.full((s, n, d), world.instance.skill0, np.float64),
        bias=np.zeros((s, n)),
        tools=tools,
        path=np.ones((s, n)),
        efficacy=np.ones((s, n)),
        since_accept=np.zeros((s, n), np.int32),
        guard_intact=np.full((s, n), mode is not GuardMode.none),
        guard_in_loop=np.full((s, n), mode is GuardMode.in_loop),
        guard_error=np.zeros((s, n), bool),
        share=np.ones((s, n)),
        ability=np.zeros((s, n, d)),
        theta=np.zeros((s, n)),
        score=np.zeros((s, n, d), np.float32),
        proxy=np.zeros((s, n, d), np.float32),
        expected_proxy=np.zeros((s, n, d)),
        delta=np.zeros((s, n, d)),
        dbias=np.zeros((s, n)),
        new_tools=np.zeros((s, n), np.uint8),
        factor=np.ones((s, n)),
        proposed=np.zeros((s, n), bool),
        ck_valid=np.zeros((s, n), bool),
        ck_skill=np.zeros((s, n, d)),
        ck_bias=np.zeros((s, n)),
        ck_tools=np.zeros((s, n), np.uint8),
        ck_guard=np.zeros((s, n), bool),
        ck_score=np.zeros((s, n)),
        below=np.zeros((s, n), np.int32),
        diverged=np.zeros(s, bool),
    )
