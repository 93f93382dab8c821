"""The exact mean-field recursion of the wild's discrete process, and the SIR final size.

Given ``I`` infected and ``S`` susceptible of ``N`` hosts at the start of a
cycle, the world makes a Poisson number of attempts with mean
``lam = beta * c * I * (1 - I/N) ** eta`` on uniform hosts, and a susceptible
host escapes all of them with chance ``exp(-lam / N)``. Then each host
infected before the cycle is cleaned with chance ``gamma``. So

    I' = I * (1 - gamma) + S * (1 - exp(-lam / N)),   S' = S - S * (1 - exp(-lam / N)).

Early on (``I << N``) the infected hosts grow by ``1 + beta * c - gamma`` per
cycle; without cleaning the logistic rate is ``ln(1 + beta * c)``, and with
it ``R0 = beta * c / gamma``. Tests hold the simulator to these curves.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq


def recursion(i0: float, n: float, cycles: int, *, beta: float, copies: int = 1, eta: float = 0.0,
              gamma: float = 0.0, s0: float | None = None) -> NDArray[np.float64]:
    """Return the mean-field infected hosts ``(cycles + 1,)``, from ``i0`` at step 0.

    Parameters
    ----------
    i0, n
        Infected hosts at the start; hosts.
    cycles
        Steps of the recursion.
    beta, copies, eta, gamma
        ``wild.contact_rate``, ``wild.host_capacity``, ``wild.congestion``,
        ``countermeasures.clean_rate``.
    s0
        Susceptible hosts at the start (default ``n - i0``).

    Examples
    --------
    >>> x = recursion(10, 1e6, 3, beta=0.5)
    >>> bool(abs(x[1] / x[0] - 1.5) < 1e-4)
    True
    """
    i, s = float(i0), float(n - i0 if s0 is None else s0)
    out = np.empty(cycles + 1)
    out[0] = i
    for t in range(cycles):
        lam = beta * copies * i * max(0.0, 1.0 - i / n) ** eta
        new = s * -math.expm1(-lam / n)
        i, s = i * (1.0 - gamma) + new, s - new
        out[t + 1] = i
    return out


def final_size(r0: float) -> float:
    """Return the SIR final size ``z > 0`` solving ``z = 1 - exp(-r0 z)`` (0 when ``r0 <= 1``).

    Examples
    --------
    >>> round(final_size(2.0), 3)
    0.797
    """
    if r0 <= 1.0:
        return 0.0
    return float(brentq(lambda z: z - 1.0 + math.exp(-r0 * z), 1e-9, 1.0))
