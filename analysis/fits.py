"""The saturating law's Levenberg–Marquardt fit, compiled (the analysis's costliest step).

:func:`analysis.growth.fit_laws_with_parameters` fits
``theta = ln K - softplus(-a (t - t0))`` to every world's trajectory twice (ability
and score); run as numpy calls on arrays of a few hundred points, each of its
~80 iterations cost more in Python than in arithmetic. This is the same
algorithm (variable projection of ``ln K``, analytic Jacobian, Marquardt's
diagonal damping, steps clipped to the bounds, the same stopping rules) as
scalar loops compiled by numba; the 2 x 2 normal equations are solved in
closed form. Sums run in index order, so results can differ from numpy's
pairwise sums in the last bits; the golden answers (``tests/analysis``) hold.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

#: Bounds of the rate ``a``; ``t0`` lies in ``[0, span]``.
A_LOW, A_HIGH = 1e-6, 100.0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _softplus(x: float) -> float:
    """``log(1 + exp(x))`` without overflow (``numpy.logaddexp(0, x)``)."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _expit(x: float) -> float:
    """``1 / (1 + exp(-x))`` without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _residual(t: Any, y: Any, a: float, t0: float, out: Any) -> float:
    """Fill ``out`` with the residual at ``(a, t0)`` (``ln K`` profiled out); return its sum of squares."""
    n = len(t)
    total = 0.0
    for i in range(n):
        out[i] = y[i] + _softplus(-a * (t[i] - t0))
        total += out[i]
    mean = total / n
    rss = 0.0
    for i in range(n):
        out[i] -= mean
        rss += out[i] * out[i]
    return rss


@numba.njit(cache=True, nogil=True, error_model="numpy")
def fit_saturating(t: Any, y: Any, a: float, t0: float, span: float,
                   iterations: int) -> tuple[float, float, float, float]:
    """Return ``(ln K, a, t0, rss)`` of the saturating law fitted to ``y`` over ``t`` (see the module)."""
    n = len(t)
    p0 = min(max(a, A_LOW), A_HIGH)
    p1 = min(max(t0, 0.0), span)
    r = np.empty(n)
    trial_r = np.empty(n)
    j0 = np.empty(n)
    j1 = np.empty(n)
    rss = _residual(t, y, p0, p1, r)
    damping = 1e-3
    for _ in range(iterations):
        m0 = 0.0
        m1 = 0.0
        for i in range(n):
            e = _expit(-p0 * (t[i] - p1))
            j0[i] = -e * (t[i] - p1)
            j1[i] = e * p0
            m0 += j0[i]
            m1 += j1[i]
        m0 /= n
        m1 /= n
        a00 = 0.0
        a01 = 0.0
        a11 = 0.0
        g0 = 0.0
        g1 = 0.0
        for i in range(n):
            u = j0[i] - m0
            v = j1[i] - m1
            a00 += u * u
            a01 += u * v
            a11 += v * v
            g0 += u * r[i]
            g1 += v * r[i]
        improved = False
        done = False
        while damping < 1e12:
            b00 = a00 + damping * (a00 + 1e-300)
            b11 = a11 + damping * (a11 + 1e-300)
            det = b00 * b11 - a01 * a01
            s0 = (-g0 * b11 + g1 * a01) / det
            s1 = (-g1 * b00 + g0 * a01) / det
            q0 = min(max(p0 + s0, A_LOW), A_HIGH)
            q1 = min(max(p1 + s1, 0.0), span)
            rss_new = _residual(t, y, q0, q1, trial_r)
            if math.isfinite(rss_new) and rss_new < rss:
                small = (abs(q0 - p0) <= 1e-10 * (abs(p0) + 1e-10)
                         and abs(q1 - p1) <= 1e-10 * (abs(p1) + 1e-10))
                done = rss - rss_new <= 1e-12 * rss or small
                p0 = q0
                p1 = q1
                r, trial_r = trial_r, r
                rss = rss_new
                damping = max(damping / 10, 1e-12)
                improved = True
                break
            damping *= 10
        if not improved or done:
            break
    total = 0.0
    for i in range(n):
        total += y[i] + _softplus(-p0 * (t[i] - p1))
    return total / n, p0, p1, rss
