"""What the wild's kernels share: infecting a host, removing one, picking events.

Every function here is written once, in plain Python that numba compiles
(``loops.compiled._jit.jit``). Both engines call the compiled functions: the
wild has no numpy twin to keep in step (STYLE item 22). Its work is a
sequence of events (a contact, a removal), each touching one host, which a
vectorised numpy version could only state by sorting and de-duplicating
whole batches of events; the event loop is the clearer statement of the
model and the only fast one.

Random draws follow ``loops.random``: the key of (world, cycle, stage), then
the event's number in that stage and cycle as the "slot" and a draw number,
so a world's draws do not depend on which worlds share its batch.
"""

from __future__ import annotations

import math

import numpy as np

from loops.compiled._jit import jit
from loops.compiled.elementary import log
from loops.compiled.random import normal, uniform
from loops.wild.hosts import CLEANED, EVER, INFECTED, N_CLEANED, N_EVER, N_INFECTED, SUM_ABILITY, SUM_EVASION
from loops.wild.improve import ability_now

#: Draw numbers of a mutation (one per trait); the stages use draw numbers below these.
DRAW_EVASION, DRAW_JAILBREAK, DRAW_PERSUASION = 8, 9, 10


@jit
def fold(x: float, hi: float) -> float:
    """Reflect ``x`` into ``[0, hi]`` (a mutated trait stays in its range, its spread unbiased inside)."""
    x = abs(x)
    if x > hi:
        x = hi - (x - hi)
    if x < 0.0:
        x = 0.0
    return x


@jit
def infect(s: int, host: int, parent: int, cycle: int, key: np.uint64, k: int, mutation: float,
           status: np.ndarray, since: np.ndarray, evasion: np.ndarray, jailbreak: np.ndarray,
           persuasion: np.ndarray, ability: np.ndarray, infected: np.ndarray, counts: np.ndarray,
           sums: np.ndarray, improve: np.ndarray) -> None:
    """Infect ``host`` with a copy of ``parent``'s genome, mutated by event ``k``'s draws.

    The copy's ability is the parent's at this cycle (``improve``: the
    parameters of ``loops.wild.improve``); the traits mutate, the ability does not.
    """
    e = np.float64(evasion[s, parent])
    j = np.float64(jailbreak[s, parent])
    p = np.float64(persuasion[s, parent])
    if mutation > 0.0:
        e = fold(e + mutation * normal(key, k, DRAW_EVASION), math.inf)
        j = fold(j + mutation * normal(key, k, DRAW_JAILBREAK), math.inf)
        p = fold(p + mutation * normal(key, k, DRAW_PERSUASION), 1.0)
    evasion[s, host] = e
    jailbreak[s, host] = j
    persuasion[s, host] = p
    ability[s, host] = ability_now(ability, since, jailbreak, s, parent, cycle, improve)
    since[s, host] = cycle
    if status[s, host] & EVER == 0:
        counts[s, N_EVER] += 1
    status[s, host] = INFECTED | EVER
    infected[s, counts[s, N_INFECTED]] = host
    counts[s, N_INFECTED] += 1
    sums[s, SUM_EVASION] += np.float64(evasion[s, host])
    sums[s, SUM_ABILITY] += np.float64(ability[s, host])


@jit
def pick(key: np.uint64, n: int, p: float, picked: np.ndarray) -> int:
    """Pick each of the positions ``0 .. n-1`` with probability ``p``; return how many.

    The picked positions go to ``picked[:m]`` in increasing order. The gap to
    the next pick is geometric (one uniform and one ``log`` per pick), so the
    work follows the number picked, not ``n``. Draw number 0 of event ``i``
    is the ``i``-th gap.
    """
    if n <= 0 or not p > 0.0:
        return 0
    if p >= 1.0:
        for i in range(n):
            picked[i] = i
        return n
    inv = 1.0 / log(1.0 - p)  # negative
    m = 0
    pos = -1
    while True:
        gap = log(1.0 - uniform(key, m, 0)) * inv  # >= 0: P(gap >= g) = (1 - p) ** g
        if gap >= n:  # also guards the int conversion
            return m
        pos += 1 + int(math.floor(gap))
        if pos >= n:
            return m
        picked[m] = pos
        m += 1


@jit
def remove(s: int, picked: np.ndarray, m: int, status: np.ndarray, evasion: np.ndarray, ability: np.ndarray,
           infected: np.ndarray, cleaned: np.ndarray, counts: np.ndarray, sums: np.ndarray) -> None:
    """Clean the infected hosts at list positions ``picked[:m]`` (increasing).

    Removing from the highest position down, each removed entry takes the
    list's last one, which is never a position still to remove.
    """
    for r in range(m - 1, -1, -1):
        pos = picked[r]
        host = infected[s, pos]
        last = counts[s, N_INFECTED] - 1
        infected[s, pos] = infected[s, last]
        counts[s, N_INFECTED] = last
        status[s, host] = CLEANED | EVER
        cleaned[s, counts[s, N_CLEANED]] = host
        counts[s, N_CLEANED] += 1
        sums[s, SUM_EVASION] -= np.float64(evasion[s, host])
        sums[s, SUM_ABILITY] -= np.float64(ability[s, host])
    if counts[s, N_INFECTED] == 0:
        sums[s, SUM_EVASION] = 0.0  # no rounding residue survives the last copy
        sums[s, SUM_ABILITY] = 0.0
