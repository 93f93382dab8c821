"""Regime, blow-up and jump detectors on curves with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.events import jump
from analysis.growth import blowup, classify

K = 0.05


def deterministic(r: float, cycles: int = 200, theta_max: float = 40.0) -> tuple[np.ndarray, bool]:
    """Return theta[t+1] = theta[t] + k exp((r-1) theta[t]) as recorded: float32, NaN past theta_max."""
    theta = np.zeros(cycles)
    with np.errstate(over="ignore"):
        for t in range(cycles - 1):
            theta[t + 1] = theta[t] + K * np.exp((r - 1) * theta[t])
    recorded = theta.astype(np.float32).astype(float)
    past = np.flatnonzero(~(recorded <= theta_max))
    if len(past):
        recorded[past[0] :] = np.nan
    return recorded, bool(len(past))


@pytest.mark.parametrize(("r", "expected"), [(0.5, "polynomial"), (1.0, "exponential"), (1.5, "takeoff")])
def test_deterministic_limit_regimes(r: float, expected: str) -> None:
    theta, diverged = deterministic(r)
    assert classify(np.arange(200.0), theta, diverged=diverged).regime == expected


def test_blowup_estimate_of_the_deterministic_limit() -> None:
    theta, _ = deterministic(1.5)
    regime = classify(np.arange(200.0), theta, diverged=True)
    t_star = 1 / (K * (1.5 - 1))
    assert abs(regime.blowup_cycle - t_star) <= 1e-3, regime  # README: within 1%; measured 7e-8
    assert regime.blowup_low <= regime.blowup_cycle <= regime.blowup_high


def test_blowup_is_nan_without_increasing_returns() -> None:
    theta, _ = deterministic(0.5)
    assert np.isnan(blowup(np.arange(200.0), theta)[0])


@pytest.mark.parametrize("seed", range(5))
def test_hard_plateau_versus_slow_log_growth(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(300.0)
    plateau = 1.5 * (1 - np.exp(-t / 30)) + rng.normal(0, 0.01, t.size)
    plateau[100:] = 1.5 + rng.normal(0, 0.01, 200)
    log_growth = 0.25 * np.log1p(t) + rng.normal(0, 0.01, t.size)
    assert classify(t, plateau).regime == "plateau"
    assert classify(t, log_growth).regime in ("apparent_plateau", "polynomial")
    assert classify(t, log_growth).regime != "plateau"


@pytest.mark.parametrize("seed", range(10))
def test_planted_jump_is_found_within_two_cycles(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(200.0)
    at = int(rng.integers(40, 160))
    y = 0.004 * t + np.where(t >= at, 1.0, 0.0) + rng.normal(0, 0.02, t.size)
    cycle, size = jump(t, y)
    assert abs(cycle - at) <= 2, (cycle, at)
    assert 0.8 < size < 1.2


def test_no_jump_in_smooth_noise() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(200.0)
    assert np.isnan(jump(t, 0.01 * t + rng.normal(0, 0.02, t.size))[0])


def test_noisy_exponential_is_rarely_called_takeoff() -> None:
    """The measured false-positive rate of takeoff on noisy exponential growth stays at or below 5%."""
    rng = np.random.default_rng(2026)
    t = np.arange(200.0)
    calls = [
        classify(t, rng.uniform(0.005, 0.05) * t + rng.normal(0, 0.05, t.size)).regime for _ in range(300)
    ]
    rate = np.mean([c == "takeoff" for c in calls])
    print(f"false takeoff rate on noisy exponential curves: {rate:.3f} over {len(calls)}")
    assert rate <= 0.05, rate
    assert np.mean([c == "exponential" for c in calls]) >= 0.8


def test_shortcuts_give_scipys_bits() -> None:
    # The analysis calls scipy's building blocks without its checking wrappers; the answers
    # are scipy's, bit for bit (the golden answers rest on them).
    from scipy import stats

    from analysis.growth import _linregress, _t_quantile

    for p in (0.9, 0.95, 0.975):
        for df in (1, 2, 3, 10, 73, 298, 1000):
            assert _t_quantile(p, df) == float(stats.t.ppf(p, df)), (p, df)
    rng = np.random.default_rng(3)
    for n in (3, 20, 300):
        x, y = np.sort(rng.uniform(0, 50, n)), rng.normal(size=n).cumsum()
        ours, theirs = _linregress(x, y), stats.linregress(x, y)
        assert (ours.slope, ours.intercept, ours.stderr) == (theirs.slope, theirs.intercept, theirs.stderr)


def _saturating_curves() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Curves whose best saturating fit lies inside its bounds or on one (``t0`` at 0 or at the end)."""
    rng = np.random.default_rng(0)
    t = np.arange(220.0)
    return {
        "score toward 1": (t, np.log(1 - 0.8 * np.exp(-t / 80)) + rng.normal(0, 1e-3, t.size)),
        "exponential (t0 at the end)": (t, 0.01 * t + rng.normal(0, 0.01, t.size)),
        "logistic": (t, np.log(50) - np.logaddexp(0, -0.05 * (t - 100)) + rng.normal(0, 0.01, t.size)),
        "past the bend (t0 at 0)": (t, np.log(50) - np.logaddexp(0, -0.03 * (t + 60))
                                    + rng.normal(0, 0.01, t.size)),
        "fast then slow": (t, np.minimum(0.02 * t, 2 + 0.002 * t) + rng.normal(0, 0.01, t.size)),
        "log growth": (t, 0.25 * np.log1p(t) + rng.normal(0, 0.01, t.size)),
    }


@pytest.mark.parametrize("case", list(_saturating_curves()))
def test_saturating_fit_reaches_the_bounded_optimum(case: str) -> None:
    """The saturating law's fit ends where scipy's bounded least squares, started 63 ways, does best.

    Its rate and bend are bounded (``a`` in [1e-6, 100], ``t0`` in [0, span]); on
    curves whose optimum lies on a bound the fit once stopped 5-10% above it in rss.
    """
    from scipy.optimize import least_squares

    from analysis.growth import _fit_saturating

    t, y = _saturating_curves()[case]
    span = float(t[-1])
    params, rss = _fit_saturating(t, y, 4.0 / span, span / 3, span)
    assert params is not None

    def residual(p: np.ndarray) -> np.ndarray:
        return np.asarray(p[0] - np.logaddexp(0, -p[1] * (t - p[2])) - y)

    best = np.inf
    for a in np.geomspace(1e-4, 10, 9):
        for t0 in np.linspace(0, span, 7):
            k = float(np.mean(y + np.logaddexp(0, -a * (t - t0))))
            fit = least_squares(residual, [k, a, t0], bounds=([-np.inf, 1e-6, 0], [np.inf, 100, span]),
                                xtol=1e-15, ftol=1e-15, gtol=1e-15)
            best = min(best, 2 * float(fit.cost))
    assert rss <= best * (1 + 1e-9), (rss, best)
    assert abs(float(np.sum(residual(params) ** 2)) - rss) <= 1e-9 * rss  # the rss is the parameters'


def test_compiled_lines_match_least_squares() -> None:
    """The compiled line fits agree with numpy's least squares; a profile's value is its search's best."""
    from analysis.fits import HYPERBOLIC, POWER, line, line_at, profile

    rng = np.random.default_rng(5)
    t = np.arange(150.0)
    for _ in range(50):
        y = rng.uniform(0.1, 0.5) * np.log1p(t) + rng.normal(0, 0.01, t.size)
        c, s, rss = line(t, y, -np.inf, np.inf)
        (s_np, c_np), res, *_ = np.linalg.lstsq(np.column_stack([t, np.ones_like(t)]), y, rcond=None)
        np.testing.assert_allclose([c, s, rss], [c_np, s_np, res[0]], rtol=1e-9)
        assert line(t, y, 1.0, 2.0)[1] == 1.0  # the slope clipped to its bounds
        for kind, us in ((POWER, np.geomspace(1e-3, 300, 24)), (HYPERBOLIC, np.geomspace(150.001, 300, 24))):
            u, best = profile(t, y, us, kind, 1e-6, 1e3)
            assert line_at(t, y, u, kind, 1e-6, 1e3)[2] == best
