"""Stages ``spread`` and ``persuade``: copies infect hosts by random scanning and by persuading users.

**Spread.** Each copy makes a Poisson number of infection attempts with mean
``beta * (1 - I/N) ** eta`` per cycle (``wild.contact_rate``,
``wild.congestion``; ``I`` infected and ``N`` present hosts at the start of
the cycle), each on a uniformly random host. An attempt on a susceptible host
infects it with a mutated copy of the attacker's genome (and the attacker's
ability at this cycle: ``loops.wild.improve``); on any other host it is
wasted. The attempts of all copies of a world are alike, so the world
draws them as one Poisson process (exponential gaps summed up to
``beta * copies * (1 - I/N) ** eta``) and gives each attempt a uniformly
random attacker among the hosts infected before this cycle: the same law as
drawing per copy, at a cost that follows the attempts, not the copies.

A host infected in cycle ``t`` is appended to the infected list and first
scans in ``t + 1``. The exact mean of one cycle given ``I``, with ``S``
susceptible hosts, is ``E[new] = S * (1 - exp(-lambda / N))``,
``lambda = beta * c * I * (1 - I/N) ** eta`` (``c`` copies per host): each
susceptible host escapes a Poisson number of attempts with mean
``lambda / N``. Early growth is by the factor ``1 + beta * c`` per cycle.

**Persuade.** Each copy makes ``wild.persuasion`` persuasion attempts per
cycle (again one Poisson process per world); an attempt succeeds with the
attacker's persuasion trait, and the persuaded user adds a new host (up to
``wild.persuaded_max``) that runs a mutated copy.
"""

from __future__ import annotations

import math

import numpy as np

from loops.compiled._jit import jit
from loops.compiled.elementary import exp, log
from loops.compiled.random import stage_key, uniform
from loops.wild._common import infect
from loops.wild.hosts import N_CLEANED, N_INFECTED, N_PRESENT


@jit
def attempt_rate(beta: float, copies: int, infected: int, present: int, eta: float) -> float:
    """Return a world's expected attempts this cycle: ``beta * c * I * (1 - I/N) ** eta``."""
    rate = beta * copies * infected
    if eta > 0.0:
        free = 1.0 - infected / present
        rate = rate * exp(eta * log(free)) if free > 0.0 else 0.0
    return rate


@jit
def spread(status: np.ndarray, since: np.ndarray, evasion: np.ndarray, jailbreak: np.ndarray,
           persuasion: np.ndarray, ability: np.ndarray, infected: np.ndarray, counts: np.ndarray,
           sums: np.ndarray, started: np.ndarray, worlds: np.ndarray, cycle: int, stage: int,
           beta: float, copies: int, eta: float, mutation: float, improve: np.ndarray,
           infections: np.ndarray) -> None:
    """Run one cycle of random scanning in every started world (in place)."""
    for s in range(status.shape[0]):
        scanners = counts[s, N_INFECTED]
        present = counts[s, N_PRESENT]
        if not started[s] or scanners == 0 or scanners + counts[s, N_CLEANED] == present:
            continue  # nobody scans, or nobody is left to infect (draws are keyed: skipping changes none)
        rate = attempt_rate(beta, copies, scanners, present, eta)
        key = stage_key(worlds[s], cycle, stage)
        clock = 0.0
        k = 0
        while True:
            clock -= log(1.0 - uniform(key, k, 0))  # the next attempt of a Poisson process of rate 1
            if not clock < rate:
                break
            host = int(math.floor(uniform(key, k, 1) * present))
            if status[s, host] & 3 == 0:  # susceptible
                parent = infected[s, int(math.floor(uniform(key, k, 2) * scanners))]
                infect(s, host, parent, cycle, key, k, mutation, status, since, evasion, jailbreak,
                       persuasion, ability, infected, counts, sums, improve)
                infections[s] += 1
            k += 1


@jit
def persuade(status: np.ndarray, since: np.ndarray, evasion: np.ndarray, jailbreak: np.ndarray,
             persuasion: np.ndarray, ability: np.ndarray, infected: np.ndarray, counts: np.ndarray,
             sums: np.ndarray, started: np.ndarray, worlds: np.ndarray, cycle: int, stage: int,
             attempts: float, copies: int, places: int, mutation: float, improve: np.ndarray,
             infections: np.ndarray) -> None:
    """Let copies persuade users to add hosts that run them (in place)."""
    for s in range(status.shape[0]):
        if not started[s]:
            continue
        # Attackers are the hosts infected before this cycle: the list's entries with since < cycle.
        # Spread appended this cycle's infections at the end, so they are the last entries.
        n = counts[s, N_INFECTED]
        while n > 0 and since[s, infected[s, n - 1]] == cycle:
            n -= 1
        if n == 0:
            continue
        key = stage_key(worlds[s], cycle, stage)
        rate = attempts * copies * n
        clock = 0.0
        k = 0
        while counts[s, N_PRESENT] < places:
            clock -= log(1.0 - uniform(key, k, 0))
            if not clock < rate:
                break
            parent = infected[s, int(math.floor(uniform(key, k, 1) * n))]
            if uniform(key, k, 2) < persuasion[s, parent]:
                host = counts[s, N_PRESENT]
                counts[s, N_PRESENT] += 1
                status[s, host] = 0
                infect(s, host, parent, cycle, key, k, mutation, status, since, evasion, jailbreak,
                       persuasion, ability, infected, counts, sums, improve)
                infections[s] += 1
            k += 1
