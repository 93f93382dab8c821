"""Self-improvement of the wild's copies: the returns law at the rate their LLM access allows.

A wild copy keeps improving its ability ``a`` (v1's latent ability, in its
units) by the returns law of act 1 in continuous time,
``da/dt = k(t) * exp((r - 1) * a)``, with ``r`` = ``wild.returns`` and a rate
``k(t)`` set by what the copy can ask an LLM:

- ``wild.improve_rate`` while the big-LLM APIs are on;
- ``wild.improve_rate * wild.carried_llm`` from ``countermeasures.t_api_off``
  (the copy falls back to the LLM it carries);
- 0 from ``countermeasures.t_filter`` for a copy whose jailbreak does not
  exceed ``countermeasures.filter_strength`` (prompt filters refuse its
  self-improvement requests); a copy whose jailbreak beats the filter keeps
  its rate.

The law has a closed form in the accumulated rate ``tau = sum of k(u)``
over the cycles ``u`` since the copy's host was infected:
``a = a0 + tau`` for ``r = 1`` and
``a = a0 - ln(1 - (r - 1) tau exp((r - 1) a0)) / (r - 1)`` otherwise (for
``r > 1`` it reaches infinity in finite time; ability is capped at
``instance.theta_max``). A copy improves from the cycle after its host was
infected (when it also first scans), and a new copy inherits the ability its
parent has at that moment.

So no stage visits the copies to improve them: a host keeps the ability its
copy had when it was infected (``Hosts.ability``) and the cycle
(``Hosts.since``), and the current ability is computed where it is read (an
infection, the record). The work follows the events, as everywhere in the wild.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from loops.compiled._jit import jit
from loops.compiled.elementary import exp, log
from loops.config import WorldConfig

#: Positions in the array of improvement parameters (:func:`parameters`).
RATE, RETURNS, API_OFF, CARRIED, FILTER_FROM, STRENGTH, THETA_MAX = range(7)
#: A countermeasure that never starts (as a cycle number).
NEVER = float(2**62)


def parameters(world: WorldConfig) -> NDArray[np.float64]:
    """Return the improvement parameters of a world, in the order of :data:`RATE` ... :data:`THETA_MAX`.

    Examples
    --------
    >>> from loops.config import WildConfig
    >>> parameters(WorldConfig(wild=WildConfig(improve_rate=0.01)))[[RATE, RETURNS, API_OFF]].tolist()
    [0.01, 1.0, 4.611686018427388e+18]
    """
    wild, cm = world.wild, world.countermeasures
    return np.array([
        wild.improve_rate,
        wild.returns,
        NEVER if cm.t_api_off is None else float(cm.t_api_off),
        wild.carried_llm,
        NEVER if cm.t_filter is None else float(cm.t_filter),
        cm.filter_strength,
        world.instance.theta_max,
    ], np.float64)


@jit
def cycles_in(born: float, now: float, lo: float, hi: float) -> float:
    """Return how many whole cycles ``u`` have ``born < u <= now`` and ``lo <= u < hi``.

    Examples
    --------
    >>> cycles_in(10.0, 20.0, 0.0, 15.0), cycles_in(10.0, 20.0, 15.0, 1e9), cycles_in(10.0, 20.0, 30.0, 40.0)
    (4.0, 6.0, 0.0)
    """
    first = max(born + 1.0, lo)
    last = min(now, hi - 1.0)
    return max(last - first + 1.0, 0.0)


@jit
def accumulated_rate(born: float, now: float, jailbreak: float, params: np.ndarray) -> float:
    """Return ``tau``, the improvement rate summed over the cycles ``born < u <= now``."""
    k = params[RATE]
    if not k > 0.0 or now <= born:
        return 0.0
    api_off = params[API_OFF]
    blocked = NEVER if jailbreak > params[STRENGTH] else params[FILTER_FROM]  # filters refuse from here
    full = cycles_in(born, now, -1.0, min(api_off, blocked))
    carried = cycles_in(born, now, api_off, blocked)
    return float(k * (full + params[CARRIED] * carried))


@jit
def grow(a0: float, tau: float, returns: float, cap: float) -> float:
    """Return the ability reached from ``a0`` after an accumulated rate ``tau`` (capped at ``cap``).

    Examples
    --------
    >>> grow(1.0, 0.5, 1.0, 40.0), round(grow(0.0, 0.5, 2.0, 40.0), 6), grow(0.0, 1.0, 2.0, 40.0)
    (1.5, 0.693147, 40.0)
    """
    if not tau > 0.0:
        return a0
    if returns == 1.0:
        a = a0 + tau
    else:
        x = 1.0 - (returns - 1.0) * tau * exp((returns - 1.0) * a0)
        if not x > 0.0:  # past the finite-time blow-up of returns above 1
            return cap
        a = a0 - log(x) / (returns - 1.0)
    return min(a, cap)


@jit
def ability_now(ability: np.ndarray, since: np.ndarray, jailbreak: np.ndarray, s: int, host: int,
                cycle: int, params: np.ndarray) -> float:
    """Return the ability of the copy on ``host`` of world ``s`` at the end of ``cycle``."""
    a0 = np.float64(ability[s, host])
    tau = accumulated_rate(np.float64(since[s, host]), np.float64(cycle), np.float64(jailbreak[s, host]),
                           params)
    return float(grow(a0, tau, float(params[RETURNS]), float(params[THETA_MAX])))


@jit
def mean_ability(ability: np.ndarray, since: np.ndarray, jailbreak: np.ndarray, infected: np.ndarray,
                 n_infected: np.ndarray, cycle: int, params: np.ndarray, out: np.ndarray) -> None:
    """Write each world's mean ability of its live copies at the end of ``cycle`` to ``out`` (NaN: none)."""
    for s in range(ability.shape[0]):
        n = n_infected[s]
        if n == 0:
            out[s] = math.nan
            continue
        total = 0.0
        for i in range(n):
            total += ability_now(ability, since, jailbreak, s, infected[s, i], cycle, params)
        out[s] = total / n
