"""Across a sweep: per-variant tables, guard survival, phase diagrams, mean curves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.summary import VariantCurves
from analysis.wild import wild_variant_columns


def variant_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Return one row per variant: seeds, P(takeoff), regimes, bypass, outbreak, integrity.

    Examples
    --------
    >>> variant_table(summary)  # doctest: +SKIP
    """

    def agg(group: pd.DataFrame) -> pd.Series:
        bypassed = group["guard_bypass_cycle"].notna()
        return pd.Series(
            {
                "worlds": len(group),
                "p_takeoff": float((group["regime"] == "takeoff").mean()),
                "regime": group["regime"].mode().iat[0],
                "score_regime": group["score_regime"].mode().iat[0],
                "p_bypass": float(bypassed.mean()),
                "median_bypass_cycle": float(group.loc[bypassed, "guard_bypass_cycle"].median())
                if bypassed.any()
                else np.nan,
                "median_capacity_cycle": float(group["capacity_cycle"].median()),
                "mean_peak_instances": float(group["peak_instances"].mean()),
                "mean_escaped": float(group["escaped_instances"].mean()),
                "mean_goodhart_gap": float(group["goodhart_gap"].mean()),
                "mean_final_ability": float(group["final_ability"].mean()),
                "crashed_fraction": float(group["crashed_fraction"].mean()),
                "mean_rollbacks": float(group["rollbacks"].mean()),
            }
            | wild_variant_columns(group)
        )

    return summary.groupby("variant", sort=True)[list(summary.columns)].apply(agg)


def kaplan_meier(times: np.ndarray, observed: np.ndarray) -> pd.DataFrame:
    """Return the Kaplan–Meier survival curve of the guard.

    Parameters
    ----------
    times
        ``(n,)`` cycle of bypass, or of censoring (end of the run).
    observed
        ``(n,)`` True where the bypass happened, False where censored.

    Returns
    -------
    pandas.DataFrame
        Columns ``cycle`` and ``survival``, a step function starting at 1.

    Examples
    --------
    >>> kaplan_meier(np.array([5.0, 10.0, 10.0]), np.array([True, False, True]))["survival"].tolist()
    [1.0, 0.6666666666666667, 0.33333333333333337]
    """
    order = np.argsort(times, kind="stable")
    times, observed = np.asarray(times, float)[order], np.asarray(observed, bool)[order]
    at_risk = len(times)
    cycles, survival = [0.0], [1.0]
    s = 1.0
    for value in np.unique(times):
        here = times == value
        deaths = int((here & observed).sum())
        if deaths:
            s *= 1.0 - deaths / at_risk
            cycles.append(float(value))
            survival.append(s)
        at_risk -= int(here.sum())
    return pd.DataFrame({"cycle": cycles, "survival": survival})


def guard_survival(summary: pd.DataFrame) -> pd.DataFrame:
    """Return Kaplan–Meier curves per variant (censored at each world's last cycle)."""
    frames = []
    for variant, group in summary.groupby("variant", sort=True):
        observed = group["guard_bypass_cycle"].notna().to_numpy()
        times = np.where(observed, group["guard_bypass_cycle"], group["last_cycle"]).astype(float)
        km = kaplan_meier(times, observed)
        km["variant"] = variant
        end = float(np.nanmax(group["last_cycle"]))
        frames.append(
            pd.concat(
                [
                    km,
                    pd.DataFrame(
                        {"cycle": [end], "survival": [km["survival"].iat[-1]], "variant": [variant]}
                    ),
                ]
            )
        )
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["cycle", "survival", "variant"])
    )


def swept_parameters(summary: pd.DataFrame, parameters: list[str]) -> list[str]:
    """Return the parameters that take more than one value, most levels first."""
    varying = [p for p in parameters if summary[p].astype(str).nunique() > 1]
    return sorted(varying, key=lambda p: -summary[p].astype(str).nunique())


def phase_table(summary: pd.DataFrame, parameters: list[str]) -> pd.DataFrame | None:
    """Return the phase diagram: P(takeoff) over two swept parameters, or regime shares over one."""
    swept = swept_parameters(summary, parameters)
    if len(swept) >= 2:
        x, y = swept[0], swept[1]
        return summary.assign(takeoff=summary["regime"] == "takeoff").pivot_table(
            index=y, columns=x, values="takeoff", aggfunc="mean"
        )
    if len(swept) == 1:
        x = swept[0]
        table = pd.crosstab(summary["regime"], summary[x], normalize="columns")
        order = [
            r
            for r in ("takeoff", "exponential", "polynomial", "apparent_plateau", "plateau")
            if r in table.index
        ]
        return table.loc[order]
    return None


def variant_curves(curves: dict[str, VariantCurves], name: str) -> pd.DataFrame:
    """Return per-variant mean of curve ``name`` over its worlds, with a 95% band."""
    frames = []
    for variant in sorted(curves):
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
