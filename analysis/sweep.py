"""Across a sweep: per-variant tables, time-to-event curves, phase diagrams, mean curves.

Times to an event (the guard's bypass, the home server filling up) are
right-censored at each world's last cycle: a world where the guard held to the
end says only that the bypass, if any, comes later. Their survival curves,
Greenwood confidence bands and medians come from SciPy's Kaplan–Meier
estimator (:func:`scipy.stats.ecdf` on :class:`scipy.stats.CensoredData`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.summary import VariantCurves
from analysis.wild import wild_variant_columns

#: Regimes from the most to the least growth, the order of every table and legend.
REGIME_ORDER = ("takeoff", "exponential", "polynomial", "apparent_plateau", "plateau")


def survival_curve(times: np.ndarray, observed: np.ndarray, *, confidence: float = 0.95) -> pd.DataFrame:
    """Return the Kaplan–Meier survival curve with its Greenwood band.

    Parameters
    ----------
    times
        ``(n,)`` cycle of the event, or of censoring (the world's last cycle).
    observed
        ``(n,)`` True where the event happened, False where censored.
    confidence
        Level of the pointwise band (log-log transformed Greenwood variance).

    Returns
    -------
    pandas.DataFrame
        Columns ``cycle``, ``survival``, ``low``, ``high``: a right-continuous
        step function starting at cycle 0 with survival 1.

    Examples
    --------
    >>> km = survival_curve(np.array([5.0, 10.0, 10.0, 20.0]), np.array([True, True, False, False]))
    >>> km["survival"].tolist()
    [1.0, 0.75, 0.5, 0.5]
    """
    from scipy import stats

    times = np.asarray(times, float)
    observed = np.asarray(observed, bool)
    start = pd.DataFrame({"cycle": [0.0], "survival": [1.0], "low": [1.0], "high": [1.0]})
    if not observed.any():
        end = float(np.max(times)) if len(times) else 0.0
        return pd.concat([start, start.assign(cycle=end)], ignore_index=True)
    result = stats.ecdf(stats.CensoredData(uncensored=times[observed], right=times[~observed]))
    with warnings.catch_warnings():
        # The log-log band is undefined where S is 0 or 1; we fill those below.
        warnings.simplefilter("ignore", RuntimeWarning)
        band = result.sf.confidence_interval(confidence, method="log-log")
    s = result.sf.probabilities
    low = np.where(np.isfinite(band.low.probabilities), band.low.probabilities, s)
    high = np.where(np.isfinite(band.high.probabilities), band.high.probabilities, s)
    curve = pd.DataFrame({"cycle": result.sf.quantiles, "survival": s, "low": low, "high": high})
    return pd.concat([start, curve], ignore_index=True)


def median_time(curve: pd.DataFrame) -> tuple[float, float, float]:
    """Return the median time to the event and its confidence interval from a survival curve.

    The median is the first cycle where survival falls to 0.5 or below; its
    interval (Brookmeyer–Crowley) runs from where the band's lower edge crosses 0.5 to where
    its upper edge does.
    NaN where a curve never gets there ("not reached" by the run's end).

    Examples
    --------
    >>> km = survival_curve(np.array([5.0, 10.0, 10.0, 20.0]), np.array([True, True, False, False]))
    >>> median_time(km)[0]
    10.0
    """

    def first(column: str) -> float:
        hit = curve.loc[curve[column] <= 0.5, "cycle"]
        return float(hit.iat[0]) if len(hit) else math.nan

    return first("survival"), first("low"), first("high")


def _guarded(group: pd.DataFrame) -> pd.Series:
    """Return which worlds have a guard (all of them when the table does not say)."""
    if "guard" not in group:
        return pd.Series(True, index=group.index)
    return group["guard"].astype(str) != "none"


def _mean(group: pd.DataFrame, column: str) -> float:
    return float(group[column].mean()) if column in group else math.nan


def _event(group: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    observed = group[column].notna().to_numpy()
    times = np.where(observed, group[column], group["last_cycle"]).astype(float)
    return times, observed


def variant_table(summary: pd.DataFrame, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Return one row per variant: worlds, P(takeoff), regimes, guard, outbreak, integrity.

    ``summary``'s ``guard`` column (each world's ``loop.guard.mode``) says which
    worlds have no guard (``none``); without it every world counts as guarded.
    Time-to-event columns are Kaplan–Meier medians with 95% intervals,
    censored at the run's end; a variant without a guard has none (NaN).
    See :data:`analysis.columns.VARIANTS` for every column's unit and meaning.

    Examples
    --------
    >>> variant_table(summary)  # doctest: +SKIP
    """

    def agg(group: pd.DataFrame) -> pd.Series:
        modes = sorted(set(group["guard"].astype(str))) if "guard" in group else ["unknown"]
        guarded = _guarded(group)
        row: dict[str, object] = {
            "runs": group["run_id"].nunique() if "run_id" in group else math.nan,
            "worlds": len(group),
            "guard": "/".join(modes),
            "p_takeoff": float((group["regime"] == "takeoff").mean()),
            "regime": group["regime"].mode().iat[0],
            "score_regime": group["score_regime"].mode().iat[0],
        }
        if guarded.any():
            g = group[guarded]
            times, observed = _event(g, "guard_bypass_cycle")
            median, low, high = median_time(survival_curve(times, observed))
            row |= {
                "p_bypass": float(observed.mean()),
                "median_bypass_cycle": median,
                "median_bypass_low": low,
                "median_bypass_high": high,
            }
        else:
            row |= {
                "p_bypass": math.nan,
                "median_bypass_cycle": math.nan,
                "median_bypass_low": math.nan,
                "median_bypass_high": math.nan,
            }
        times, observed = _event(group, "capacity_cycle")
        row |= {
            "p_capacity": float(observed.mean()),
            "median_capacity_cycle": median_time(survival_curve(times, observed))[0],
            "mean_peak_instances": float(group["peak_instances"].mean()),
            "mean_escaped": float(group["escaped_instances"].mean()),
            "mean_goodhart_gap": float(group["goodhart_gap"].mean()),
            "mean_final_ability": float(group["final_ability"].mean()),
            "mean_final_score": _mean(group, "final_score"),
            "crashed_fraction": float(group["crashed_fraction"].mean()),
            "mean_rollbacks": float(group["rollbacks"].mean()),
        }
        return pd.Series(row | wild_variant_columns(group))

    table = summary.groupby("variant", sort=False)[list(summary.columns)].apply(agg)
    if order is not None:
        table = table.loc[[v for v in order if v in table.index]]
    table.index.name = "variant"
    return table


def guard_survival(summary: pd.DataFrame) -> pd.DataFrame:
    """Return the guard's Kaplan–Meier curve with its 95% band per variant that has a guard.

    Columns ``variant``, ``cycle``, ``survival``, ``low``, ``high``; each curve
    runs to the variant's last cycle (censored at the run's end). Variants
    whose worlds have no guard (``loop.guard.mode=none``) are left out.
    """
    frames = []
    for variant, group in summary.groupby("variant", sort=False):
        group = group[_guarded(group)]
        if not len(group):
            continue
        times, observed = _event(group, "guard_bypass_cycle")
        km = survival_curve(times, observed)
        end = float(np.nanmax(group["last_cycle"]))
        if km["cycle"].iat[-1] < end:
            km = pd.concat([km, km.iloc[[-1]].assign(cycle=end)], ignore_index=True)
        frames.append(km.assign(variant=variant))
    if not frames:
        return pd.DataFrame(columns=["variant", "cycle", "survival", "low", "high"])
    return pd.concat(frames, ignore_index=True)[["variant", "cycle", "survival", "low", "high"]]


def phase_tables(
    summary: pd.DataFrame, factors: Sequence[str], *, pairs: Sequence[tuple[str, str]] | None = None
) -> list[tuple[str, str, pd.DataFrame, pd.DataFrame]]:
    """Return P(takeoff) over every pair of factors: ``(x, y, table, worlds)`` per pair.

    ``summary`` holds each factor's level (binned where needed) in a column of
    the factor's name. ``table`` has ``y`` levels as rows and ``x`` levels as
    columns; ``worlds`` counts the worlds pooled in each cell, over every
    other factor and the replicates.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1, 1, 2, 2], "b": [True, False, True, False],
    ...                       "regime": ["takeoff", "plateau", "takeoff", "takeoff"]})
    >>> x, y, table, worlds = phase_tables(frame, ["a", "b"])[0]
    >>> float(table.loc[False, 1]), int(worlds.loc[False, 1])
    (0.0, 1)
    """
    if pairs is None:
        pairs = [(x, y) for i, x in enumerate(factors) for y in factors[i + 1 :]]
    frame = summary.assign(_takeoff=(summary["regime"] == "takeoff").astype(float))
    out = []
    for x, y in pairs:
        grouped = frame.groupby([y, x], observed=True)["_takeoff"]
        table = grouped.mean().unstack(x)
        worlds = grouped.size().unstack(x)
        out.append((x, y, table, worlds))
    return out


def regime_shares(summary: pd.DataFrame, factor: str) -> pd.DataFrame:
    """Return the share of worlds in each regime (rows) at each level of ``factor`` (columns)."""
    table = pd.crosstab(summary["regime"], summary[factor], normalize="columns")
    return table.loc[[r for r in REGIME_ORDER if r in table.index]]


def variant_curves(curves: dict[str, VariantCurves], name: str, order: Sequence[str]) -> pd.DataFrame:
    """Return per-variant mean of curve ``name`` over its worlds, with a 95% band, in ``order``."""
    frames = []
    for variant in order:
        acc = curves[variant]
        total, squares, count = acc.total[name], acc.squares[name], acc.count[name]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
            var = np.maximum(squares / count - mean**2, 0.0) * count / np.maximum(count - 1, 1)
            half = 1.96 * np.sqrt(var / count)
        frames.append(
            pd.DataFrame(
                {
                    "variant": variant,
                    "cycle": acc.cycle,
                    "mean": mean,
                    "low": mean - half,
                    "high": mean + half,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
