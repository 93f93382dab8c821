"""Compose the report: summary.csv, the figures, report.html and a text summary."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from analysis import plots, sweep, wild, wild_plots
from analysis.design_report import write_design_report
from analysis.sensitivity import DEFAULT_SCENARIO, mark_design_parameters
from analysis.summary import DESIGN_PARAMETER, RunCurves, run_parameters, summarize
from results.provenance import config_value


def story_run(summary: pd.DataFrame, curves: list[RunCurves]) -> RunCurves:
    """Pick the run that tells the story: the most bypassed in-loop guard, else the biggest outbreak."""
    score = summary.groupby("run_id").agg(
        bypass=("guard_bypass_cycle", lambda s: s.notna().mean()), peak=("peak_instances", "mean")
    )
    by_id = {c.run_id: c for c in curves}
    in_loop = [c.run_id for c in curves if config_value(c.config, "loop.guard.mode") == "in_loop"]
    pool = score.loc[in_loop] if in_loop else score
    best = pool.sort_values(["bypass", "peak"], ascending=False).index[0]
    return by_id[best]


def story_events(
    run: RunCurves, summary: pd.DataFrame
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Return the story's event markers and spans, from the detectors and the run's schedule."""
    rows = summary[summary["run_id"] == run.run_id]
    t_net = config_value(run.config, "model.t_net")
    t_off = config_value(run.config, "interventions.t_shutdown")
    bypass = float(rows["guard_bypass_cycle"].median())
    capacity = float(rows["capacity_cycle"].median())
    jump = float(rows["jump_cycle"].median())
    marks = {
        "network (jump detected)" if math.isfinite(jump) else "network": jump
        if math.isfinite(jump)
        else float(t_net)
        if t_net is not None
        else math.nan,
        "guard bypassed (median)": bypass,
        "home server full (median)": capacity,
        "plug pulled": float(t_off) if t_off is not None else math.nan,
    }
    end = float(run.cycle[-1])
    start = float(t_net) if t_net is not None else math.nan
    spans = {"closed rise": (float(run.cycle[0]), start if math.isfinite(start) else end)}
    if math.isfinite(start):
        stop = float(t_off) if t_off is not None else end
        spans["apparent plateau: score flat, ability rising"] = (start + 0.15 * (stop - start), stop)
    if t_off is not None:
        spans["escaped copies still reporting"] = (float(t_off), end)
    return marks, spans


def write_report(
    ds: xr.Dataset,
    out: Path,
    *,
    failures: pd.DataFrame | None = None,
    progress: Callable[[int], None] | None = None,
    scenario: str = DEFAULT_SCENARIO,
) -> dict[str, Any]:
    """Analyse a sweep and write summary.csv, figures and report.html into ``out``.

    Parameters
    ----------
    ds
        The sweep (``results.open_sweep``).
    out
        Output directory (created).
    failures
        Failed runs to list in the report (``results.failures``).
    progress
        Called with 1 after each run is analysed.
    scenario
        On a design store: the condition over per-run outputs that scenario
        discovery (PRIM) looks for (``analysis.design_report``).

    Returns
    -------
    dict
        Paths written and the text summary.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    out.mkdir(parents=True, exist_ok=True)
    ds = mark_design_parameters(ds)  # a design's parameters vary per run: no variant, no phase axis
    summary, curves, by_variant = summarize(ds, progress=progress)
    summary.to_csv(out / "summary.csv", index=False)
    table = sweep.variant_table(summary)
    table.to_csv(out / "variants.csv")
    variants = sorted(summary["variant"].unique())
    colours = plots.palette(variants)
    figures: dict[str, str] = {}

    def save(fig: Any, name: str, caption: str) -> None:
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        figures[name] = caption

    run = story_run(summary, curves)
    marks, spans = story_events(run, summary)
    fig, axes = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    plots.story(
        run.cycle,
        run.mean("ability"),
        run.mean("score"),
        run.mean("instances"),
        run.mean("instances_external"),
        run.mean("results_rows"),
        axes,
        marks=marks,
        spans=spans,
    )
    save(fig, "story.png", f"The story timeline of run {run.variant} (mean over seeds).")

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    plots.trajectories(
        sweep.variant_curves(by_variant, "score"),
        axes[0],
        colours=colours,
        ylabel="held-out score (fraction correct)",
        title="Measured score",
    )
    plots.trajectories(
        sweep.variant_curves(by_variant, "ability"),
        axes[1],
        colours=colours,
        ylabel="latent ability = ln C (log capability)",
        title="Latent capability (log scale)",
    )
    save(fig, "trajectories.png", "Mean trajectories by variant with 95% bands.")

    fig, ax = plt.subplots(figsize=(9, 4))
    plots.population(
        run.cycle,
        run.mean("instances"),
        run.mean("instances_external"),
        run.mean("results_rows"),
        ax,
        marks=marks,
        title=f"Instances and results database, {run.variant}",
    )
    save(fig, "outbreak.png", "Instances and result rows over time with detected events.")

    fig, ax = plt.subplots(figsize=(8, 4))
    plots.survival(sweep.guard_survival(summary), ax, colours=colours)
    save(fig, "guard_survival.png", "Kaplan–Meier survival of the replication guard.")

    params = [p for p in run_parameters(ds) if not ds[p].attrs.get(DESIGN_PARAMETER)]
    phase = sweep.phase_table(summary, params)
    if phase is not None:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        two = phase.index.name not in (None, "regime")
        plots.phase(
            phase,
            ax,
            title="Phase diagram: P(takeoff)" if two else "Phase diagram: regime shares",
            value="P(takeoff)" if two else "share of worlds",
        )
        save(fig, "phase.png", "Phase diagram over the swept parameters.")

    act2 = wild.wild_run(summary)
    if act2 is not None:
        run = next(c for c in curves if c.run_id == act2)
        fig, ax = plt.subplots(figsize=(9, 4.2))
        wild_plots.act2(run.cycle, run.mean("hosts_infected"), run.mean("evasion_mean"), ax,
                        marks=wild.countermeasure_marks(run.config), title=f"After the escape, {run.variant}")
        save(fig, "wild.png", "The wild: infected hosts with each countermeasure marked, and mean evasion.")

    text = summary_text(summary, table, failures)
    design_lines = write_design_report(ds, summary, out, save=save, scenario=scenario)
    if design_lines:
        text += "\n" + "\n".join(design_lines)
    (out / "report.html").write_text(_html(text, table, figures, failures, ds))
    return {
        "summary": out / "summary.csv",
        "report": out / "report.html",
        "text": text,
        "figures": [out / f for f in figures],
    }


def summary_text(summary: pd.DataFrame, table: pd.DataFrame, failures: pd.DataFrame | None) -> str:
    """Return the report's short text summary."""
    runs = summary["run_id"].nunique()
    lines = [
        f"{runs} runs, {len(summary)} worlds analysed"
        + (f"; {len(failures)} failed runs left out" if failures is not None and len(failures) else "")
        + "."
    ]
    counts = summary["regime"].value_counts()
    lines.append("Regimes (latent capability): " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".")
    counts = summary["score_regime"].value_counts()
    lines.append("Regimes (measured score): " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".")
    for variant, row in table.iterrows():
        bypass = (
            f"guard bypassed in {row.p_bypass:.0%} of worlds (median cycle {row.median_bypass_cycle:.0f})"
            if row.p_bypass > 0
            else "guard never bypassed"
        )
        lines.append(
            f"[{variant}] P(takeoff) {row.p_takeoff:.2f}; {bypass}; peak instances "
            f"{row.mean_peak_instances:.1f}; escaped copies at the end {row.mean_escaped:.1f}; "
            f"Goodhart gap {row.mean_goodhart_gap:+.3f}."
        )
    return "\n".join(lines)


def _html(
    text: str, table: pd.DataFrame, figures: dict[str, str], failures: pd.DataFrame | None, ds: xr.Dataset
) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>takeoff report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px}"
        "img{max-width:100%}figcaption{color:#555;font-size:13px}</style></head><body>",
        "<h1>takeoff report</h1>",
        f"<p>store: <code>{html.escape(str(ds.attrs.get('store', '')))}</code>; takeoff "
        f"{html.escape(str(ds.attrs.get('package_version', '')))}, git "
        f"{html.escape(str(ds.attrs.get('git_revision', ''))[:10])}, schema v"
        f"{html.escape(str(ds.attrs.get('schema_version', '')))}</p>",
        "<h2>Summary</h2>",
        "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines()),
    ]
    for name, caption in figures.items():
        parts.append(
            f"<figure><img src='{name}' alt='{html.escape(caption)}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    parts += ["<h2>Per variant</h2>", table.to_html(float_format=lambda x: f"{x:.3g}")]
    if failures is not None and len(failures):
        parts += ["<h2>Failed runs</h2>", failures.to_html(index=False)]
    parts.append(
        "<p>Per-world rows: <a href='summary.csv'>summary.csv</a>; per-variant: "
        "<a href='variants.csv'>variants.csv</a>.</p></body></html>"
    )
    return "\n".join(parts)
