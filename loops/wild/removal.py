"""Stages ``clean``, ``detect``, ``hunt`` (countermeasures) and ``immunity`` (patches wearing off).

Each runs from its own start cycle on (``countermeasures.t_clean``,
``t_detect``, ``t_hunt``; ``None``: never), after the cycle's spread: a host
infected in cycle ``t`` can first be cleaned in ``t + 1``. With a per-cycle
cleaning chance ``gamma`` a copy therefore scans for a geometric number of
cycles with mean ``1 / gamma``, and ``R0 = beta * c / gamma``.

- ``clean``: every infected host is cleaned with chance ``clean_rate``,
  whatever it runs.
- ``detect``: published signatures find a copy with chance
  ``detect_rate * exp(-evasion / signature_width)``; its host is cleaned.
- ``hunt``: a hunter agent finds an infected host with chance
  ``hunt_rate * I / N``: the more common the copies, the easier to track.
- ``immunity``: a cleaned host becomes susceptible again with chance
  ``immunity_loss`` (it runs first in the cycle, so a host cleaned in ``t``
  can be reinfected from ``t + 1``).

Picking is geometric skipping over the world's list (:func:`~loops.wild._common.pick`);
``detect`` picks at its highest chance, ``detect_rate``, and keeps a pick
with chance ``exp(-evasion / width)`` (thinning), so the work follows the
detections, not the copies.
"""

from __future__ import annotations

import numpy as np

from loops.compiled._jit import jit
from loops.compiled.elementary import exp
from loops.compiled.random import stage_key, uniform
from loops.wild._common import pick, remove
from loops.wild.hosts import EVER, N_CLEANED, N_INFECTED, N_PRESENT, SUSCEPTIBLE

#: What a removal stage weighs a pick by: nothing, or the copy's evasion.
UNIFORM, BY_EVASION = 0, 1


@jit
def clean(status: np.ndarray, since: np.ndarray, evasion: np.ndarray, ability: np.ndarray,
          infected: np.ndarray, cleaned: np.ndarray, counts: np.ndarray, sums: np.ndarray,
          started: np.ndarray, scratch: np.ndarray, worlds: np.ndarray, cycle: int, stage: int,
          rate: float, kind: int, width: float, by_prevalence: bool, removed: np.ndarray) -> None:
    """Clean infected hosts (those infected before this cycle) in every started world (in place).

    ``kind`` :data:`UNIFORM`: each with chance ``rate`` (times ``I / N`` when
    ``by_prevalence``); :data:`BY_EVASION`: with chance
    ``rate * exp(-evasion / width)``.
    """
    for s in range(status.shape[0]):
        n = counts[s, N_INFECTED]
        if not started[s] or n == 0:
            continue
        p = rate * n / counts[s, N_PRESENT] if by_prevalence else rate
        key = stage_key(worlds[s], cycle, stage)
        m = pick(key, n, p, scratch)
        kept = 0
        for i in range(m):
            host = infected[s, scratch[i]]
            if since[s, host] == cycle:
                continue  # infected this cycle: first cleanable next cycle
            if kind == BY_EVASION and not uniform(key, i, 1) < exp(-np.float64(evasion[s, host]) / width):
                continue
            scratch[kept] = scratch[i]
            kept += 1
        remove(s, scratch, kept, status, evasion, ability, infected, cleaned, counts, sums)
        removed[s] += kept


@jit
def lose_immunity(status: np.ndarray, cleaned: np.ndarray, counts: np.ndarray, started: np.ndarray,
                  scratch: np.ndarray, worlds: np.ndarray, cycle: int, stage: int, rate: float) -> None:
    """Make cleaned hosts susceptible again, each with chance ``rate`` (in place)."""
    for s in range(status.shape[0]):
        n = counts[s, N_CLEANED]
        if not started[s] or n == 0:
            continue
        key = stage_key(worlds[s], cycle, stage)
        m = pick(key, n, rate, scratch)
        for r in range(m - 1, -1, -1):
            pos = scratch[r]
            host = cleaned[s, pos]
            last = counts[s, N_CLEANED] - 1
            cleaned[s, pos] = cleaned[s, last]
            counts[s, N_CLEANED] = last
            status[s, host] = SUSCEPTIBLE | EVER
