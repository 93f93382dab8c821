"""Growth laws and the regime of a trajectory.

Capability is ``C = exp(theta)``; the fits are done on ``theta = ln C``, where
the four competing laws read:

==============  =============================================  ==========
law             ``theta(t)``                                   regime
==============  =============================================  ==========
saturating      ``ln K - ln(1 + exp(-a (t - t0)))``            plateau
power           ``ln c + p ln(t + t1)``                        polynomial
exponential     ``a + b t``                                    exponential
hyperbolic      ``ln A - m ln(tc - t)``, ``tc`` past the data  takeoff
==============  =============================================  ==========

Each law's parameters are bounded so the laws stay distinct (a saturating fit
must bend inside the window, a singularity must lie within one window past
it); the Akaike information criterion chooses, preferring the simpler law
within 2 units. A trajectory that diverged is a takeoff.

A trailing window whose growth rate is below ``flat`` *looks* flat; a trend test
alone cannot say more, since any slope of a noise-free curve is significant.
It is judged by effect size, against a minimum effect ``min_effect`` (in
``ln C`` units; :data:`MIN_EFFECT` by default, ``takeoff-report --min-effect``):

- a **plateau** when the curve approaches a ceiling: the saturating law fits
  (within 2 AIC units of the best law) and the gain left (the fitted ceiling
  minus the fitted current value) is below the minimum effect; or when the
  trailing growth rate extrapolated over one more window of the same length
  gains less than the minimum effect, or no growth is shown (the slope's 95%
  interval reaches zero);
- an **apparent plateau** when the growth is sustained: the rate does not decay
  toward zero (no fitted saturating law puts its ceiling within one more
  window's growth at the current rate, and the current rate, the slope of the
  window's second half, still gains the minimum effect over one more window),
  the slope's 95% interval is above zero, and the gain extrapolated over one
  more window exceeds the minimum effect;
- otherwise (slowing toward a ceiling still more than the minimum effect
  away) the best law's regime.

The blow-up estimate fits the returns law ``d theta/dt = k exp((r-1) theta)``
in log space (``ln dtheta = ln k + (r - 1) theta``) and extrapolates its
singularity ``t* = t0 + exp((1 - r) theta0) / (k (r - 1))``.
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

REGIMES = ("plateau", "apparent_plateau", "polynomial", "exponential", "takeoff")
#: Longest trajectory fitted as is; longer ones are thinned evenly (first and last kept).
MAX_POINTS = 300
#: AIC units by which the hyperbolic law must beat the exponential one to call takeoff.
TAKEOFF_EVIDENCE = 10.0
LAWS = {"saturating": "plateau", "power": "polynomial", "exponential": "exponential", "hyperbolic": "takeoff"}
#: Smallest gain in ``ln C`` that counts as growth (0.01: 1% more capability), for the plateau rule.
MIN_EFFECT = 0.01


@dataclass(frozen=True)
class Regime:
    """The regime of one trajectory and the evidence for it."""

    regime: str
    law: str
    aic: dict[str, float]
    tail_growth: float
    tail_slope_low: float
    blowup_cycle: float = math.nan
    blowup_low: float = math.nan
    blowup_high: float = math.nan
    #: Gain left to the saturating law's fitted ceiling (``ln C``), NaN without a fit.
    ceiling_gap: float = math.nan
    #: The trailing growth rate extrapolated over one more window (``ln C``).
    extrapolated_gain: float = math.nan


@functools.lru_cache(maxsize=1024)
def _t_quantile(p: float, df: int) -> float:
    """Student's t quantile, cached (scipy's ppf costs more than the regression it serves).

    ``scipy.special.stdtrit``, the function ``scipy.stats.t.ppf`` calls once it has
    checked its arguments (the same bits): a worker then never imports
    ``scipy.stats`` (about 0.8 s of its start, against 0.3 s for ``scipy.special``).
    """
    from scipy import special

    return float(special.stdtrit(df, p))


@dataclass(frozen=True)
class _Line:
    """An OLS line: what :func:`scipy.stats.linregress` returns that the analysis reads."""

    slope: float
    intercept: float
    stderr: float


def _linregress(x: NDArray[np.float64], y: NDArray[np.float64]) -> _Line:
    """Return :func:`scipy.stats.linregress`'s slope, intercept and slope standard error, the same bits.

    The same numpy operations as scipy's (means, ``np.cov(bias=1)``, the clipped
    correlation), without its input-checking wrapper, which cost more than the
    regression on a trajectory's few hundred points. What scipy refuses (empty
    input, identical ``x``) goes to scipy, which raises.
    """
    x, y = np.asarray(x), np.asarray(y)
    n = len(x)
    if x.size == 0 or y.size == 0 or x.dtype != np.float64 or y.dtype != np.float64 \
            or x.ndim != 1 or y.shape != x.shape or (n > 1 and np.amax(x) == np.amin(x)):
        from scipy import stats

        res = stats.linregress(x, y)
        return _Line(float(res.slope), float(res.intercept), float(res.stderr))
    xmean, ymean = np.mean(x, None), np.mean(y, None)
    ssxm, ssxym, _, ssym = _cov(x, y).flat
    r: Any
    if ssxm == 0.0 or ssym == 0.0:
        r = np.asarray(np.nan if ssxym == 0 else 0.0)[()]
    else:
        r = ssxym / np.sqrt(ssxm * ssym)
        r = 1.0 if r > 1.0 else -1.0 if r < -1.0 else r
    slope = ssxym / ssxm
    stderr = 0.0 if n == 2 else np.sqrt((1 - r**2) * ssym / ssxm / (n - 2))
    return _Line(float(slope), float(ymean - slope * xmean), float(stderr))


def _cov(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """``numpy.cov(x, y, bias=True)`` for two float64 vectors, the same operations without its checks.

    Its steps: the rows' means, subtracted in place, ``X @ X.T`` scaled by
    ``1 / n`` (a multiplication, as numpy does).
    """
    xy = np.array((x, y))
    xy -= xy.mean(axis=1)[:, None]
    out: NDArray[np.float64] = np.dot(xy, xy.T)
    out *= np.true_divide(1, xy.shape[1])
    return out


def _linear_in(x: NDArray[np.float64], y: NDArray[np.float64], lo: float,
               hi: float) -> tuple[float, float, float]:
    """Return ``(intercept, slope, rss)`` of least squares ``y ~ c + s x`` with ``s`` in ``[lo, hi]``.

    With one bounded coefficient the constrained optimum is the free slope
    clipped to its bounds (the residual sum is a convex quadratic in it once
    the intercept is profiled out). Compiled (:func:`analysis.fits.line`); a
    residual sum that is not finite is ``inf``.
    """
    from analysis.fits import line

    c, slope, rss = line(np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64),
                         float(lo), float(hi))
    return c, slope, rss


def _fit_saturating(t: NDArray[np.float64], y: NDArray[np.float64], a: float, t0: float, span: float,
                    iterations: int = 200) -> tuple[NDArray[np.float64] | None, float]:
    """Fit ``ln K - softplus(-a (t - t0))`` by bounded Levenberg–Marquardt on ``(a, t0)``.

    ``ln K`` is closed-form at every ``(a, t0)`` (variable projection); the
    Jacobian is analytic (``softplus' = expit``); a parameter at one of its
    bounds (``a`` in ``[1e-6, 100]``, ``t0`` in ``[0, span]``) that the gradient
    pushes against is held there, and steps are clipped to the bounds. Compiled
    (:func:`analysis.fits.fit_saturating`).
    """
    from analysis.fits import fit_saturating

    log_k, a, t0, rss = fit_saturating(np.ascontiguousarray(t, dtype=np.float64),
                                       np.ascontiguousarray(y, dtype=np.float64), float(a), float(t0),
                                       float(span), int(iterations))
    return np.array([log_k, a, t0]), float(rss)


def _profile(kind: int, t: NDArray[np.float64], y: NDArray[np.float64], lo: float, hi: float,
             slope_bounds: tuple[float, float], grid: int = 24) -> tuple[NDArray[np.float64] | None, float]:
    """Fit ``y ~ c + s basis(u)`` over the one nonlinear parameter ``u`` in ``[lo, hi]``.

    ``basis`` is the power law's or the hyperbolic law's (``kind``, see
    :func:`analysis.fits.grid_rss`). A log-spaced grid finds the basin, then
    golden section searches its two neighbouring cells, in one compiled call
    (:func:`analysis.fits.profile`), the linear coefficients being closed-form
    at every ``u`` (variable projection).
    """
    from analysis.fits import line_at, profile

    t = np.ascontiguousarray(t, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    us = _first_grid(lo, hi, grid)
    u, best = profile(t, y, us, kind, *slope_bounds)
    if not np.isfinite(best):
        return None, math.inf
    c, slope, value = line_at(t, y, u, kind, *slope_bounds)  # value is best, bit for bit
    return np.array([c, slope, u]), value


@functools.lru_cache(maxsize=4096)
def _first_grid(lo: float, hi: float, grid: int) -> NDArray[np.float64]:
    """Return a profile's first grid over ``[lo, hi]`` (log-spaced when ``lo > 0``), kept for reuse."""
    us = np.geomspace(lo, hi, grid) if lo > 0 else np.linspace(lo, hi, grid)
    us.flags.writeable = False
    return us


def fit_laws(t: NDArray[np.float64], y: NDArray[np.float64]) -> dict[str, float]:
    """Return the AIC of each growth law fitted to ``y = ln C`` over cycles ``t``.

    Parameters
    ----------
    t, y
        ``(n,)`` cycles and log-capability, finite, ``n >= 6``.

    Returns
    -------
    dict
        AIC by law name (``inf`` where a fit failed).
    """
    return {name: aic for name, (aic, _) in fit_laws_with_parameters(t, y).items()}


def fit_laws_with_parameters(
    t: NDArray[np.float64], y: NDArray[np.float64]
) -> dict[str, tuple[float, NDArray[np.float64] | None]]:
    """Return the AIC and fitted parameters of each growth law (``t`` measured from ``t[0]``).

    Parameters
    ----------
    t, y
        ``(n,)`` cycles and log-capability, finite, ``n >= 6``.

    Returns
    -------
    dict
        ``(AIC, parameters)`` by law name (``(inf, None)`` where a fit failed).
    """
    n = len(t)
    t = t - t[0]
    span = max(float(t[-1]), 1.0)
    scale = max(float(np.max(np.abs(y))), 1e-3)
    # Float32 records carry ~1e-7 relative noise: never reward a fit for more.
    floor = n * (2e-7 * scale) ** 2 + 1e-30
    # The saturating fit starts bending a third into the window, at a rate that saturates by its end.
    start_a, start_t0 = 4.0 / span, span / 3
    out: dict[str, tuple[float, NDArray[np.float64] | None]] = {}

    def aic(rss: float, k: int) -> float:
        return n * math.log(max(rss, floor) / n) + 2 * k if math.isfinite(rss) else math.inf

    # Exponential: linear least squares, closed form.
    c, b, rss = _linear_in(t, y, -math.inf, math.inf)
    out["exponential"] = (aic(rss, 2), np.array([c, b]))
    # Saturating: two nonlinear parameters, ln K closed-form; Levenberg-Marquardt from the same start.
    params, rss = _fit_saturating(t, y, start_a, start_t0, span)
    out["saturating"] = (aic(rss, 3), params)
    # Power and hyperbolic: linear in (level, exponent) once the shift is fixed.
    from analysis.fits import HYPERBOLIC, POWER  # numba is imported when a fit is made, not before

    params, rss = _profile(POWER, t, y, 1e-3, 2 * span, (1e-6, 1e3))
    out["power"] = (aic(rss, 3) if params is not None else math.inf, params)
    params, rss = _profile(HYPERBOLIC, t, y, span + 1e-3, 2 * span, (1e-6, 1e3))
    out["hyperbolic"] = (aic(rss, 3) if params is not None else math.inf, params)
    return out


def trend(t: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[float, float]:
    """Return the OLS slope of ``y`` on ``t`` and the lower end of its 95% interval."""
    res = _linregress(t, y)
    if len(t) < 3 or not np.isfinite(res.stderr):
        return float(res.slope), float(res.slope)
    q = _t_quantile(0.975, len(t) - 2)
    return float(res.slope), float(res.slope - q * res.stderr)


def blowup(t: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[float, float, float]:
    """Estimate the finite-time singularity of ``y = ln C`` from the returns law, with a 90% interval.

    The interval is the delta method's on ``ln(t* - t0)``, from both the
    returns exponent's and the level's uncertainty (the exponent's alone covers
    far less than 90%).

    Returns ``(t*, low, high)``; NaN where the fitted returns are not above 1.
    """
    dy = np.diff(y) / np.diff(t)  # a rate per cycle, whatever the spacing of the records
    keep = dy > 0
    if keep.sum() < 4:
        return math.nan, math.nan, math.nan
    x, z = y[:-1][keep], np.log(dy[keep])
    res = _linregress(x, z)
    slope = float(res.slope)
    if slope <= 0:
        return math.nan, math.nan, math.nan
    n = len(x)
    q = _t_quantile(0.95, max(n - 2, 1))
    # ln(t* - t0) = -mean(z) + s (mean(x) - y0) - ln s: the mean of z and the slope s
    # are uncorrelated in least squares, so the delta method adds their variances.
    resid = z - (res.intercept + slope * x)
    sigma2 = float(resid @ resid) / max(n - 2, 1)
    err = float(res.stderr) if np.isfinite(res.stderr) else 0.0
    log_span = -float(z.mean()) + slope * (float(x.mean()) - float(y[0])) - math.log(slope)
    grad = float(x.mean()) - float(y[0]) - 1.0 / slope
    se = math.sqrt(sigma2 / n + (grad * err) ** 2)
    t0 = float(t[0])
    return _after(t0, log_span), _after(t0, log_span - q * se), _after(t0, log_span + q * se)


#: The largest ``v`` whose ``exp(v)`` is a finite float.
_LOG_MAX = math.log(sys.float_info.max)


def _after(t0: float, log_span: float) -> float:
    """Return ``t0 + exp(log_span)``: infinity where that is beyond any float.

    A returns exponent barely above 1 and poorly known (rates that hardly
    depend on the level) puts the singularity's interval, or the estimate
    itself, beyond any float: the interval is unbounded, not an error.
    """
    return t0 + math.exp(log_span) if log_span <= _LOG_MAX else math.inf


def classify(t: NDArray[np.float64], y: NDArray[np.float64], *, diverged: bool = False,
             flat: float = 2e-3, tail: float = 0.25, min_effect: float = MIN_EFFECT) -> Regime:
    """Return the regime of a log-capability trajectory.

    Parameters
    ----------
    t, y
        ``(n,)`` cycles and ``ln C``; non-finite points are dropped.
    diverged
        The trajectory diverged (a finite-time blow-up in the simulator).
    flat
        Relative growth per cycle (``d ln C / dt``) below which the trailing
        window looks flat.
    tail
        Fraction of the trajectory that forms the trailing window.
    min_effect
        Smallest gain in ``ln C`` that counts as growth in the plateau rule
        (see the module docstring).

    Returns
    -------
    Regime
        With the AIC of each law, the trailing window's growth, the gain left
        to the fitted ceiling and the extrapolated gain.

    Examples
    --------
    >>> t = np.arange(100.0)
    >>> classify(t, 0.05 * t).regime
    'exponential'
    >>> classify(np.arange(300.0), np.log(50) - np.log1p(np.exp(-0.05 * (np.arange(300.0) - 100)))).regime
    'plateau'
    """
    t, y = np.asarray(t, float), np.asarray(y, float)
    ok = np.isfinite(y)
    if not ok.all():
        t, y = t[ok], y[ok]
    if len(t) > MAX_POINTS:
        # Fits cost grows with the points; a few hundred pin every law down.
        keep = np.unique(np.linspace(0, len(t) - 1, MAX_POINTS).round().astype(int))
        t, y = t[keep], y[keep]
    if len(t) < 6:
        return Regime("plateau" if not diverged else "takeoff", "none", {}, math.nan, math.nan)
    fitted = fit_laws_with_parameters(t, y)
    aic = {name: value for name, (value, _) in fitted.items()}
    n_tail = max(6, int(len(t) * tail))
    slope, low = trend(t[-n_tail:], y[-n_tail:])
    window = float(t[-1] - t[-n_tail])
    gain = max(slope, 0.0) * window
    gap = _ceiling_gap(fitted["saturating"][1], float(t[-1] - t[0]))
    candidates = dict(aic)
    if slope >= flat and low > 0:
        # Still clearly growing at the end: whatever bends early, it is no plateau.
        candidates.pop("saturating")
    order = sorted(candidates, key=lambda name: (candidates[name], name != "exponential"))
    law = order[0]
    if law != "exponential" and candidates["exponential"] - candidates[law] < 2.0:
        law = "exponential"  # within 2 AIC units, the two-parameter law
    regime = LAWS[law]
    t_star = low_t = high_t = math.nan
    if diverged or regime == "takeoff":
        t_star, low_t, high_t = blowup(t, y)
    if diverged:
        regime = "takeoff"
    elif slope < flat:
        # Looks flat: judge by effect size, never by the trend test alone (any slope
        # of a noise-free curve is significant). See the module docstring.
        saturating = aic["saturating"] - min(aic.values()) < 2.0
        # The fitted ceiling lies within one more window's growth at the current
        # rate: the rate must decay toward zero.
        decays = saturating and gap < gain
        if (saturating and gap < min_effect) or gain < min_effect or low <= 0:
            regime = "plateau"
        elif not decays and _recent_slope(t[-n_tail:], y[-n_tail:]) * window >= min_effect:
            regime = "apparent_plateau"
    elif regime == "takeoff" and not (
        candidates["exponential"] - candidates["hyperbolic"] >= TAKEOFF_EVIDENCE
        and np.isfinite(high_t) and high_t < t[-1] + 2 * (t[-1] - t[0])
    ):
        # A singularity needs strong evidence: the hyperbolic law well ahead of the
        # exponential one, and the returns-law blow-up (its whole interval) close.
        regime = "exponential"
    return Regime(regime, law, aic, slope, low, t_star, low_t, high_t, gap, gain)


def _ceiling_gap(params: NDArray[np.float64] | None, end: float) -> float:
    """Return the saturating fit's gain left at ``end``: ``ln K`` minus the fitted value there."""
    if params is None:
        return math.nan
    from analysis.fits import _softplus  # numpy.logaddexp(0, x), the same libm calls

    _, a, t0 = params
    return float(_softplus(float(-a * (end - t0))))


def _recent_slope(t: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Return the OLS slope of the second half of a window: its current growth rate."""
    half = len(t) // 2
    return _linregress(t[half:], y[half:]).slope
