"""The growth laws' nonlinear fits, compiled (the analysis's costliest steps).

:func:`analysis.growth.fit_laws_with_parameters` fits
``theta = ln K - softplus(-a (t - t0))`` to every world's trajectory twice (ability
and score); run as numpy calls on arrays of a few hundred points, each of its
iterations cost more in Python than in arithmetic. Here it runs as scalar
loops compiled by numba: variable projection of ``ln K``, analytic Jacobian,
Marquardt's diagonal damping, the 2 x 2 normal equations solved in closed
form; a parameter at a bound the gradient pushes against is held there, and
steps are clipped to the bounds.
:func:`profile` searches the power and hyperbolic laws' one nonlinear parameter
(a grid, then golden section). :func:`jump` is the jump detector's sliding
medians. Sums run in index order, so results can differ from numpy's pairwise
sums in the last bits; the golden answers (``tests/analysis``) hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numba
import numpy as np


def _jit(fn: Callable[..., Any]) -> Any:
    """Compile ``fn`` in nopython mode, cached on disk; division by zero gives inf or NaN as numpy's."""
    return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)


#: Bounds of the rate ``a``; ``t0`` lies in ``[0, span]``.
A_LOW, A_HIGH = 1e-6, 100.0


@_jit
def _softplus(x: float) -> float:
    """``log(1 + exp(x))`` without overflow (``numpy.logaddexp(0, x)``)."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@_jit
def _expit(x: float) -> float:
    """``1 / (1 + exp(-x))`` without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@_jit
def _residual(t: Any, y: Any, a: float, t0: float, out: Any, decay: Any) -> float:
    """Fill ``out`` with the residual at ``(a, t0)`` (``ln K`` profiled out); return its sum of squares.

    ``decay`` gets ``exp(-|x|)`` of each point's ``x = -a (t - t0)``: the softplus
    here and the expit of the Jacobian at the same point both need it.
    """
    n = len(t)
    total = 0.0
    for i in range(n):
        x = -a * (t[i] - t0)
        decay[i] = math.exp(-abs(x))
        out[i] = y[i] + (max(x, 0.0) + math.log1p(decay[i]))
        total += out[i]
    mean = total / n
    rss = 0.0
    for i in range(n):
        out[i] -= mean
        rss += out[i] * out[i]
    return rss


@_jit
def fit_saturating(t: Any, y: Any, a: float, t0: float, span: float,
                   iterations: int) -> tuple[float, float, float, float]:
    """Return ``(ln K, a, t0, rss)`` of the saturating law fitted to ``y`` over ``t`` (see the module)."""
    n = len(t)
    p0 = min(max(a, A_LOW), A_HIGH)
    p1 = min(max(t0, 0.0), span)
    r = np.empty(n)
    trial_r = np.empty(n)
    decay = np.empty(n)
    trial_decay = np.empty(n)
    j0 = np.empty(n)
    j1 = np.empty(n)
    rss = _residual(t, y, p0, p1, r, decay)
    damping = 1e-3
    for _ in range(iterations):
        m0 = 0.0
        m1 = 0.0
        for i in range(n):
            # _expit(x) from the residual's exp(-|x|), x = -p0 (t - p1): the same bits, one exp fewer.
            e = 1.0 / (1.0 + decay[i]) if -p0 * (t[i] - p1) >= 0 else decay[i] / (1.0 + decay[i])
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
        # A parameter at a bound that the residual's gradient pushes against is held
        # there (an active bound) and the other takes the step of its own 1 x 1 system.
        # Clipping the coupled 2 x 2 step instead left the other parameter's step
        # sized for a move that could not happen: the fit crawled, and stopped on
        # its relative-improvement rule up to 10% short of the optimum in rss.
        hold0 = (p0 <= A_LOW and g0 > 0) or (p0 >= A_HIGH and g0 < 0)
        hold1 = (p1 <= 0.0 and g1 > 0) or (p1 >= span and g1 < 0)
        if hold0 and hold1:
            break  # a corner where both bounds are active: the optimum
        improved = False
        done = False
        while damping < 1e12:
            b00 = a00 + damping * (a00 + 1e-300)
            b11 = a11 + damping * (a11 + 1e-300)
            if hold1:
                s0 = -g0 / b00
                s1 = 0.0
            elif hold0:
                s0 = 0.0
                s1 = -g1 / b11
            else:
                det = b00 * b11 - a01 * a01
                s0 = (-g0 * b11 + g1 * a01) / det
                s1 = (-g1 * b00 + g0 * a01) / det
            q0 = min(max(p0 + s0, A_LOW), A_HIGH)
            q1 = min(max(p1 + s1, 0.0), span)
            rss_new = _residual(t, y, q0, q1, trial_r, trial_decay)
            if math.isfinite(rss_new) and rss_new < rss:
                small = (abs(q0 - p0) <= 1e-10 * (abs(p0) + 1e-10)
                         and abs(q1 - p1) <= 1e-10 * (abs(p1) + 1e-10))
                done = rss - rss_new <= 1e-12 * rss or small
                p0 = q0
                p1 = q1
                r, trial_r = trial_r, r
                decay, trial_decay = trial_decay, decay
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


#: Kinds of basis of :func:`grid_rss`: the power law's ``ln(t + u)``, the hyperbolic law's ``-ln(u - t)``;
#: :data:`GIVEN`: the basis array already holds the regressor (:func:`line`).
POWER, HYPERBOLIC, GIVEN = 0, 1, 2


@_jit
def _line_at(t: Any, y: Any, ym: float, u: float, kind: int, lo: float, hi: float,
             basis: Any) -> tuple[float, float, float]:
    """Return ``(c, s, rss)`` of ``y ~ c + s basis(u)``, ``s`` in ``[lo, hi]`` (``ym``: ``y``'s mean).

    The basis is ``ln(t + u)`` (``kind`` :data:`POWER`) or ``-ln(max(u - t, 1e-9))``
    (:data:`HYPERBOLIC`), filled into ``basis``, or ``basis`` as it is (:data:`GIVEN`).
    With one bounded coefficient the constrained optimum is the free slope
    clipped to its bounds (the residual sum is a convex quadratic in it once the
    intercept is profiled out). A residual sum not finite is ``inf``.
    """
    n = len(t)
    xm = 0.0
    for i in range(n):
        if kind != GIVEN:
            basis[i] = math.log(t[i] + u) if kind == POWER else -math.log(max(u - t[i], 1e-9))
        xm += basis[i]
    xm /= n
    sxx = 0.0
    sxy = 0.0
    for i in range(n):
        dx = basis[i] - xm
        sxx += dx * dx
        sxy += dx * (y[i] - ym)
    slope = sxy / sxx if sxx > 0 else lo
    if slope != slope:
        return math.nan, math.nan, np.inf
    slope = min(max(slope, lo), hi)
    rss = 0.0
    for i in range(n):
        r = (y[i] - ym) - slope * (basis[i] - xm)
        rss += r * r
    return ym - slope * xm, slope, rss if math.isfinite(rss) else np.inf


@_jit
def _rss_at(t: Any, y: Any, ym: float, u: float, kind: int, lo: float, hi: float, basis: Any) -> float:
    """Return the residual sum of ``y ~ c + s basis(u)`` (``ym``: the mean of ``y``), or ``inf``."""
    rss: float = _line_at(t, y, ym, u, kind, lo, hi, basis)[2]
    return rss


@_jit
def line(x: Any, y: Any, lo: float, hi: float) -> tuple[float, float, float]:
    """Return ``(c, s, rss)`` of least squares ``y ~ c + s x``, ``s`` in ``[lo, hi]`` (:func:`_line_at`)."""
    c, s, rss = _line_at(x, y, _mean(y), 0.0, GIVEN, lo, hi, x)
    return c, s, rss


@_jit
def line_at(t: Any, y: Any, u: float, kind: int, lo: float, hi: float) -> tuple[float, float, float]:
    """Return ``(c, s, rss)`` of ``y ~ c + s basis(u)`` (:func:`grid_rss`), as the search saw it at ``u``."""
    c, s, rss = _line_at(t, y, _mean(y), u, kind, lo, hi, np.empty(len(t)))
    return c, s, rss


@_jit
def _mean(y: Any) -> float:
    total = 0.0
    for i in range(len(y)):
        total += y[i]
    return total / len(y)


@_jit
def grid_rss(t: Any, y: Any, us: Any, kind: int, lo: float, hi: float) -> Any:
    """Return, for each ``u`` of ``us``, the residual sum of ``y ~ c + s basis(u)``, ``s`` in ``[lo, hi]``.

    The basis is ``ln(t + u)`` (``kind`` :data:`POWER`) or ``-ln(max(u - t, 1e-9))``
    (:data:`HYPERBOLIC`); the intercept is profiled out and the free slope
    clipped to its bounds (:func:`analysis.growth._linear_in`). Not finite: ``inf``.
    """
    out = np.empty(len(us))
    basis = np.empty(len(t))
    ym = _mean(y)
    for g in range(len(us)):
        out[g] = _rss_at(t, y, ym, us[g], kind, lo, hi, basis)
    return out


@_jit
def _argmin(values: Any) -> int:
    """Return the first index of the smallest value (``numpy.argmin`` of an array without NaN)."""
    k = 0
    for i in range(1, len(values)):
        if values[i] < values[k]:
            k = i
    return k


#: The golden section's ratio: each step keeps this share of the bracket.
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
#: The bracket left when a profile's search stops, as a share of the first grid's two cells
#: (six regriddings of 24 points, each to 2/23 of the bracket, the search this one replaced).
RESOLUTION = (2.0 / 23.0) ** 6


@_jit
def profile(t: Any, y: Any, us: Any, kind: int, lo: float, hi: float) -> tuple[float, float]:
    """Return the best ``u`` of a profile search and its residual sum (``inf``: none finite).

    ``us`` is the first grid; around its best point, the two cells are searched
    by golden section until the bracket is :data:`RESOLUTION` of them, keeping
    the best point seen (:func:`analysis.growth._profile`).
    """
    grid = len(us)
    values = grid_rss(t, y, us, kind, lo, hi)
    k = _argmin(values)
    if not math.isfinite(values[k]):
        return math.nan, math.inf
    best = values[k]
    u = us[k]
    a = us[max(k - 1, 0)]
    b = us[min(k + 1, grid - 1)]
    basis = np.empty(len(t))
    ym = _mean(y)
    stop = (b - a) * RESOLUTION
    c = b - GOLDEN * (b - a)
    d = a + GOLDEN * (b - a)
    fc = _rss_at(t, y, ym, c, kind, lo, hi, basis)
    fd = _rss_at(t, y, ym, d, kind, lo, hi, basis)
    while b - a > stop:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - GOLDEN * (b - a)
            fc = _rss_at(t, y, ym, c, kind, lo, hi, basis)
        else:
            a, c, fc = c, d, fd
            d = a + GOLDEN * (b - a)
            fd = _rss_at(t, y, ym, d, kind, lo, hi, basis)
        if fc < best:
            best, u = fc, c
        if fd < best:
            best, u = fd, d
    return u, best


@_jit
def _median(values: Any, scratch: Any) -> float:
    """``numpy.median`` of a small array (sorted into ``scratch``; the mean of the middle two when even)."""
    n = len(values)
    for i in range(n):  # insertion sort: a few values, no allocation
        v = values[i]
        j = i
        while j > 0 and scratch[j - 1] > v:
            scratch[j] = scratch[j - 1]
            j -= 1
        scratch[j] = v
    half = n // 2
    if n % 2:
        return float(scratch[half])
    return float((scratch[half - 1] + scratch[half]) / 2.0)


@_jit
def jump_scores(d: Any, window: int, floor: float) -> Any:
    """Return each rise's score against its neighbours (:func:`analysis.events.jump`).

    For ``d[i]``, ``i`` in ``[window, len(d) - window)``: ``(d[i] - m) / max(1.4826 mad, floor)``
    with ``m`` and ``mad`` the median and median absolute deviation of the ``window``
    rises before and the ``window`` after (numpy's ``median`` on each, bit for bit).
    """
    count = len(d) - 2 * window
    z = np.empty(max(count, 0))
    neighbours = np.empty(2 * window)
    deviations = np.empty(2 * window)
    scratch = np.empty(2 * window)
    for k in range(count):
        for j in range(window):
            neighbours[j] = d[k + j]
            neighbours[window + j] = d[k + window + 1 + j]
        level = _median(neighbours, scratch)
        for j in range(2 * window):
            deviations[j] = abs(neighbours[j] - level)
        spread = 1.4826 * _median(deviations, scratch)
        z[k] = (d[k + window] - level) / max(spread, floor)
    return z


@_jit
def _sorted_median(values: Any) -> float:
    """``numpy.median`` of ``values`` (any length >= 1), from a sorted copy."""
    s = np.sort(values)
    n = len(s)
    half = n // 2
    if n % 2:
        return float(s[half])
    return float((s[half - 1] + s[half]) / 2.0)


@_jit
def jump(t: Any, y: Any, window: int, min_z: float) -> tuple[float, float]:
    """Return ``(jump_cycle, jump_size)`` of finite ``y`` over ``t`` (:func:`analysis.events.jump`)."""
    n = len(y)
    d = np.empty(n - 1)
    for i in range(n - 1):
        d[i] = y[i + 1] - y[i]
    centre = _sorted_median(d)
    global_spread = 1.4826 * _sorted_median(np.abs(d - centre))
    top = 0.0
    for i in range(n):
        top = max(top, abs(y[i]))
    floor = max(global_spread, 1e-9 * max(top, 1.0))
    z = jump_scores(d, window, floor)
    k = 0
    for i in range(1, len(z)):
        if z[i] > z[k]:
            k = i
    if not z[k] >= min_z:
        return math.nan, math.nan
    i = k + window  # index into d: the rise from y[i] to y[i + 1]
    before = y[max(0, i + 1 - window): i + 1]
    after = y[i + 1: i + 1 + window]
    return float(t[i + 1]), _sorted_median(after) - _sorted_median(before)
