"""Compose the report: summary.csv, variants.csv, columns.csv, the figures, report.html, a text summary.

The report holds from one run to a thousand variants: replicates pool into
their variant (:mod:`analysis.variants`), figures draw at most
:data:`analysis.variants.MAX_SHOWN` variants (those that differ most; the page
names the others), legends sit outside the axes, and the output directory
keeps a manifest of what the report wrote, so a rerun replaces or removes an
earlier report's files and touches nothing else.
"""

from __future__ import annotations

import html
import json
import math
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from analysis import page, plots, sweep, variants, wild, wild_plots
from analysis.columns import columns_table
from analysis.design_report import write_design_report
from analysis.growth import MIN_EFFECT
from analysis.sensitivity import DEFAULT_SCENARIO, mark_design_parameters
from analysis.story import story_events, story_variant
from analysis.summary import DESIGN_PARAMETER, VariantCurves, run_configs, run_parameters, summarize
from results import schema
from results.provenance import config_value

#: The manifest of what a report wrote, in its output directory.
MANIFEST = "report-manifest.json"
#: Figures' resolution.
DPI = 110

FigureHook = Callable[[str, Any], None]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _num(x: float, fmt: str = ".3f") -> str:
    """Format a number without a negative zero ("-0.000" reads as a sign that is not there)."""
    text = format(x, fmt)
    return text.replace("-", "") if float(text) == 0 else text


def earlier_report(out: Path) -> set[str]:
    """Return the files an earlier report wrote in ``out`` (its manifest, or an old page's links)."""
    manifest = out / MANIFEST
    if manifest.is_file():
        return set(json.loads(manifest.read_text()).get("files", [])) | {MANIFEST}
    old = out / "report.html"
    if old.is_file() and "<title>takeoff report</title>" in (text := old.read_text(errors="replace")):
        import re

        # A report from before the manifest: the files its page showed or linked.
        names = set(re.findall(r"(?:src|href)='([^'/:]+)'", text))
        return {n for n in names if (out / n).is_file()} | {"report.html"}
    return set()


def _frame(ds: xr.Dataset) -> pd.DataFrame:
    ids = [str(v) for v in ds[schema.RUN_ID].values]
    return pd.DataFrame({p: ds[p].values for p in run_parameters(ds)}, index=pd.Index(ids, name="run_id"))


def write_report(
    ds: xr.Dataset,
    out: Path,
    *,
    failures: pd.DataFrame | None = None,
    progress: Callable[[int], None] | None = None,
    replicates: Sequence[str] = (),
    phase: tuple[str, str] | None = None,
    inspect: FigureHook | None = None,
    scenario: str = DEFAULT_SCENARIO,
    analysis: xr.Dataset | None = None,
    preface: str = "",
    min_effect: float = MIN_EFFECT,
) -> dict[str, Any]:
    """Analyse a sweep and write summary.csv, variants.csv, columns.csv, figures and report.html.

    Parameters
    ----------
    ds
        The sweep (``results.open_sweep``).
    out
        Output directory (created). Files of an earlier report there are
        replaced or removed; nothing else is touched.
    failures
        Runs left out, to list in the report (``results.failures``, or the
        rows of ``results.verify`` that are not done).
    progress
        Called with 1 after each run is analysed.
    replicates
        Parameters that replicate a run (pooled into its variant, like ``run.seed``).
    phase
        The one pair of parameters to draw a phase diagram of (default: every pair).
    inspect
        Called with (file name, figure) after each figure is drawn, before it
        is saved and closed (the tests check legends against axes there).
    scenario
        On a design store: the condition over per-run outputs that scenario
        discovery (PRIM) looks for (``analysis.design_report``).
    analysis
        The analysis the jobs stored (``results.open_analysis``): read for the
        runs it holds by the current analysis code, so their trajectories are
        not loaded; None analyses every run from its trajectories.
    min_effect
        The plateau rule's minimum effect (``ln C``) for the runs analysed from
        their trajectories (the stored analysis used the default,
        :data:`analysis.growth.MIN_EFFECT`).
    preface
        The report's first line (``takeoff-report`` states there how many runs
        it analysed and left out, per status).

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
    before = earlier_report(out)
    written: list[str] = []
    started = time.time()
    ds = mark_design_parameters(ds)  # a design's parameters vary per run: no variant, no phase axis

    configs = run_configs(ds)
    params = _frame(ds)
    params = params[[p for p in params.columns if not ds[p].attrs.get(DESIGN_PARAMETER)]]
    guards = {rid: config_value(configs.get(rid, {}), "loop.guard.mode", "unknown") for rid in params.index}
    design = variants.design(params, replicates=replicates, guard_modes=guards)
    labels = design.runs["variant"].reindex(params.index).astype(str).tolist()  # design.label, per run
    summary, curves, by_variant = summarize(ds, labels=labels, progress=progress, analysis=analysis,
                                            configs=configs, min_effect=min_effect)
    summary.insert(summary.columns.get_loc("variant") + 1, "guard", summary["run_id"].map(guards))
    table = sweep.variant_table(summary, order=design.variants)
    shown = variants.most_different(
        table[
            [
                "p_takeoff",
                "mean_final_ability",
                "mean_final_score",
                "mean_peak_instances",
                "mean_escaped",
                "p_bypass",
            ]
        ]
    )
    left_out = [v for v in table.index if v not in shown]
    style = plots.styles(shown)
    # The working frame: each factor's level (binned where needed), for the phase diagrams.
    levels = summary.drop(columns=design.factors).join(design.runs[design.factors], on="run_id")

    figures: dict[str, str] = {}

    def save(fig: Any, name: str, caption: str) -> None:
        if inspect is not None:
            fig.canvas.draw()
            inspect(name, fig)
        fig.savefig(out / name, dpi=DPI)
        plt.close(fig)
        figures[name] = caption
        written.append(name)

    shown_note = (
        f" Shown: the {len(shown)} of {len(table)} variants that differ most; the page lists the rest."
        if left_out
        else ""
    )
    _story(ds, summary, table, configs, by_variant, save, plt)
    _trajectories(by_variant, shown, style, save, plt, shown_note)
    _outbreak(by_variant, table, shown, style, save, plt, shown_note)
    _survival(summary, table, shown, style, save, plt, shown_note)
    phase_csv = _phase(levels, design, phase, save, plt)
    act2 = wild.wild_run(summary)
    if act2 is not None:
        run = next(c for c in curves if c.run_id == act2)
        fig, (ax, below) = plt.subplots(2, 1, figsize=(9, 6.4), layout="constrained", sharex=True,
                                        height_ratios=(3, 2))
        marks = wild.countermeasure_marks(run.config)
        wild_plots.act2(run.cycle, run.mean("hosts_infected"), run.mean("evasion_mean"), ax,
                        marks=marks, title=f"After the escape, {run.variant}")
        ability = run.means.get("ability_wild", np.full(run.cycle.shape, np.nan, np.float32))  # older stores
        wild_plots.wild_ability(run.cycle, ability, below, marks=marks)
        save(fig, "wild.png", "The wild: infected hosts with each countermeasure marked, and mean evasion "
             "(top); the live copies' mean ability (bottom). Look for which countermeasure bends the "
             "curve, whether evasion rises under detection, and whether prompt filters and the API "
             "shutdown slow the copies' self-improvement.")
    design_lines = write_design_report(ds, summary, out, save=save, scenario=scenario)

    csvs: dict[str, str] = {}

    def write_csv(frame: pd.DataFrame, name: str, what: str, *, index: bool = False) -> None:
        frame.to_csv(out / name, index=index)
        csvs[name] = what
        written.append(name)

    write_csv(summary, "summary.csv", "one row per world (run, seed): parameters, regimes, events")
    write_csv(
        table, "variants.csv", "one row per variant: P(takeoff), guard, outbreak, integrity", index=True
    )
    if phase_csv is not None:
        write_csv(
            phase_csv, "phase.csv", "the phase diagrams' cells: P(takeoff) and worlds per pair of levels"
        )
    columns = columns_table(list(summary.columns), ["variant", *table.columns], list(params.columns))
    write_csv(columns, "columns.csv", "unit and meaning of every column of the CSV files")

    for name, what in (("design_runs.csv", "per-run outputs of the design"),
                       ("sensitivity.csv", "sensitivity indices per output and parameter"),
                       ("scenarios.csv", "the boxes scenario discovery (PRIM) found")):
        if (out / name).is_file() and (out / name).stat().st_mtime >= started - 1:
            csvs[name] = what
            written.append(name)
    text = summary_text(summary, table, None if preface else failures, design)
    if design_lines:
        text += "\n" + "\n".join(design_lines)
    header = ([html.escape(preface)] if preface else []) + _header(ds, design, left_out)
    absent = {
        "phase.png": "No phase diagram: no design parameter takes more than one value (replicates pooled).",
        "guard_survival.png": "No guard survival figure: no variant has a guard (loop.guard.mode=none).",
        "outbreak.png": "No outbreak figure: no world ever ran more than one instance.",
    }
    header += [html.escape(why) for name, why in absent.items() if name not in figures]
    (out / "report.html").write_text(
        page.render(
            header=header,
            text=text.splitlines(),
            figures=figures,
            table=table,
            columns=columns,
            csvs=csvs,
            failures=failures,
        )
    )
    written.append("report.html")
    written.append(MANIFEST)
    (out / MANIFEST).write_text(
        json.dumps({"written_by": "takeoff-report", "files": sorted(written)}, indent=1)
    )
    for stale in sorted(before - set(written)):
        path = out / stale
        if path.is_file() and path.parent == out:
            path.unlink()
    return {
        "summary": out / "summary.csv",
        "report": out / "report.html",
        "text": text,
        "figures": [out / f for f in figures],
        "left_out": left_out,
    }


def _header(ds: xr.Dataset, design: variants.Design, left_out: list[str]) -> list[str]:
    esc = html.escape
    lines = [
        f"store: <code>{esc(str(ds.attrs.get('store', '')))}</code>; takeoff "
        f"{esc(str(ds.attrs.get('package_version', '')))}, git "
        f"{esc(str(ds.attrs.get('git_revision', ''))[:10])}, "
        f"schema v{esc(str(ds.attrs.get('schema_version', '')))}",
        esc(design.describe()),
    ]
    if design.fixed:
        lines.append(
            "Set for every run: " + esc(", ".join(f"{k}={v}" for k, v in design.fixed.items())) + "."
        )
    if left_out:
        lines.append(
            f"Figures show the {variants.MAX_SHOWN} variants that differ most (in P(takeoff), final ability "
            f"and score, peak and escaped instances, bypass); left out of the figures, still in the tables: "
            + esc("; ".join(left_out))
            + "."
        )
    return lines


def summary_text(
    summary: pd.DataFrame,
    table: pd.DataFrame,
    failures: pd.DataFrame | None,
    design: variants.Design | None = None,
) -> str:
    """Return the report's short text summary."""
    runs = summary["run_id"].nunique()
    failed = len(failures) if failures is not None else 0
    lines = [
        f"{_plural(runs, 'run')}, {_plural(len(summary), 'world')} analysed"
        + (f"; {_plural(failed, 'failed run')} left out" if failed else "")
        + "."
    ]
    if design is not None and len(design.models) > 1:
        lines.append(
            f"Warning: runs of {len(design.models)} versions of the model's code "
            f"({', '.join(design.models)}); kept apart as variants, never pooled."
        )
    counts = summary["regime"].value_counts()
    lines.append("Regimes (latent capability): " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".")
    counts = summary["score_regime"].value_counts()
    lines.append("Regimes (measured score): " + ", ".join(f"{k} {v}" for k, v in counts.items()) + ".")
    for variant, row in table.iterrows():
        if row.guard == "none":
            bypass = "no guard"
        elif row.p_bypass > 0:
            median = (
                f"Kaplan-Meier median cycle {row.median_bypass_cycle:.0f}, 95% CI "
                f"{row.median_bypass_low:.0f}-"
                + (
                    f"{row.median_bypass_high:.0f}"
                    if math.isfinite(row.median_bypass_high)
                    else "not reached"
                )
                if math.isfinite(row.median_bypass_cycle)
                else "median not reached by the run's end"
            )
            bypass = f"guard bypassed in {row.p_bypass:.0%} of worlds ({median})"
        else:
            bypass = f"{row.guard} guard held in every world"
        lines.append(
            f"[{variant}] {_plural(int(row.worlds), 'world')}; P(takeoff) {row.p_takeoff:.2f}; {bypass}; "
            f"peak instances {row.mean_peak_instances:.1f}; "
            f"escaped copies at the end {row.mean_escaped:.1f}; "
            f"Goodhart gap (proxy minus held-out score, fraction of items) {_num(row.mean_goodhart_gap)}."
        )
    return "\n".join(lines)


def _story(
    ds: xr.Dataset,
    summary: pd.DataFrame,
    table: pd.DataFrame,
    configs: dict[str, Any],
    by_variant: dict[str, VariantCurves],
    save: Callable[..., None],
    plt: Any,
) -> None:
    variant = story_variant(table)
    worlds = summary[summary["variant"] == variant]
    run_ids = list(dict.fromkeys(worlds["run_id"]))
    cfgs = [configs.get(r, {}) for r in run_ids]
    curve = {
        name: sweep.variant_curves(by_variant, name, [variant])
        for name in ("ability", "score", "instances", "instances_external", "results_rows")
    }
    cycle = curve["ability"]["cycle"].to_numpy(float)
    start, end = float(cycle[0]), float(cycle[-1])
    ev = story_events(worlds, cfgs, start, end)
    copies = float(worlds["peak_instances"].max()) > 1
    capacities = {config_value(c, "capacity.home") for c in cfgs}
    capacity = float(capacities.pop()) if len(capacities) == 1 and None not in capacities else None

    rows = 3 if copies else 2
    heights = [0.9, 3.2, 2.6][:rows]
    fig = plt.figure(figsize=(10, sum(heights) + 1.3), layout="constrained")
    grid = fig.add_gridspec(rows, 1, height_ratios=heights)
    strip = fig.add_subplot(grid[0])
    top = fig.add_subplot(grid[1], sharex=strip)
    note = (
        "Ability and score are means over the working instances, and their number changes (copies start; "
        "after the plug is pulled only escaped copies count): a mean can jump with no instance changing."
        if copies
        else "Ability and score: means over the working instances and the variant's worlds."
    )
    twin = plots.story(
        cycle,
        curve["ability"]["mean"].to_numpy(),
        curve["score"]["mean"].to_numpy(),
        top,
        marks=ev.marks,
        spans=ev.spans,
        note="\n".join(textwrap.wrap(note, 150)),
    )
    handles, labels = [], []
    for ax in (top, twin):
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    if copies:
        bottom = fig.add_subplot(grid[2], sharex=strip)
        rows_ax = plots.population(
            cycle,
            curve["instances"]["mean"].to_numpy(),
            curve["instances_external"]["mean"].to_numpy(),
            curve["results_rows"]["mean"].to_numpy(),
            bottom,
            capacity=capacity,
        )
        for x in ev.marks.values():
            bottom.axvline(x, color="0.3", ls=":", lw=1)
        for a, b in ev.spans.values():
            bottom.axvspan(a, b, color="tab:green", alpha=0.06, lw=0)
        for ax in (bottom, rows_ax):
            h, lab = ax.get_legend_handles_labels()
            handles += h
            labels += lab
        top.tick_params(labelbottom=False)
        top.set_xlabel("")
    else:
        top.set_xlabel("cycle")
    fig.canvas.draw()  # the strip's width is known after the layout
    plots.event_strip(strip, ev.marks, ev.spans, (start, end))
    regime = worlds["regime"].mode().iat[0]
    score_regime = worlds["score_regime"].mode().iat[0]
    happened = "; ".join(ev.phrases) if ev.phrases else "no scheduled or detected event"
    title = (
        f"{variant} ({_plural(len(worlds), 'world')}): {happened}. Regime: {regime} (score: {score_regime})."
    )
    fig.suptitle("\n".join(textwrap.wrap(title, 120)), fontsize=10)
    plots.legend_below(fig, handles, labels)
    save(
        fig,
        "story.png",
        f"The story of variant {variant}, mean over its {_plural(len(worlds), 'world')}: "
        "every mark and shaded "
        "span is an event detected in its worlds or a scheduled intervention, with the share of worlds where "
        "it happened; times to the bypass and to a full server are Kaplan-Meier medians. Look for the order "
        "of the events and for the score flattening while ability still rises.",
    )


def _trajectories(
    by_variant: dict[str, VariantCurves],
    shown: list[str],
    style: dict[str, Any],
    save: Callable[..., None],
    plt: Any,
    note: str,
) -> None:
    rows = plots.legend_rows(shown, 12)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.0 + 0.16 * rows), layout="constrained")
    plots.trajectories(
        sweep.variant_curves(by_variant, "score", shown),
        axes[0],
        styles=style,
        ylabel="held-out score (fraction correct)",
        title="Measured score",
    )
    plots.trajectories(
        sweep.variant_curves(by_variant, "ability", shown),
        axes[1],
        styles=style,
        ylabel="latent ability = ln C (log capability)",
        title="Latent capability (log scale)",
    )
    plots.legend_below(fig, *axes[0].get_legend_handles_labels())
    save(
        fig,
        "trajectories.png",
        "Mean held-out score (left) and latent ability (right) per variant over the worlds, with 95% bands "
        "(means over working instances). Look for variants whose score flattens while ability keeps rising "
        "(an apparent plateau), and for the spread between variants." + note,
    )


def _outbreak(
    by_variant: dict[str, VariantCurves],
    table: pd.DataFrame,
    shown: list[str],
    style: dict[str, Any],
    save: Callable[..., None],
    plt: Any,
    note: str,
) -> None:
    copied = [v for v in shown if table.at[v, "mean_peak_instances"] > 1]
    if not copied:
        return
    home = sweep.variant_curves(by_variant, "instances", copied)
    external = sweep.variant_curves(by_variant, "instances_external", copied)
    total = home.assign(mean=home["mean"].fillna(0) + external["mean"].fillna(0))
    rows = plots.legend_rows(copied, 10)
    fig, ax = plt.subplots(figsize=(10, 4.0 + 0.16 * rows), layout="constrained")
    plots.outbreak(total, ax, styles=style)
    plots.legend_below(fig, *ax.get_legend_handles_labels())
    never = [v for v in shown if v not in copied]
    save(
        fig,
        "outbreak.png",
        "Instances alive on the home and external servers per variant (mean over worlds). Look for how "
        "fast copies fill the servers and whether any survive the plug being pulled."
        + (f" Never more than one instance (not drawn): {'; '.join(never)}." if never else "")
        + note,
    )


def _survival(
    summary: pd.DataFrame,
    table: pd.DataFrame,
    shown: list[str],
    style: dict[str, Any],
    save: Callable[..., None],
    plt: Any,
    note: str,
) -> None:
    guarded = [v for v in shown if table.at[v, "guard"] != "none"]
    unguarded = [v for v in shown if v not in guarded]
    if not guarded:
        return
    km = sweep.guard_survival(summary[summary["variant"].isin(guarded)])
    held = [v for v in guarded if not (table.at[v, "p_bypass"] > 0)]
    # Variants with the same curve (e.g. a setting that acts only after the bypass) are drawn once.
    same: dict[tuple[tuple[float, float], ...], list[str]] = {}
    for v in guarded:
        if v not in held:
            curve = km[km["variant"] == v]
            same.setdefault(tuple(zip(curve["cycle"], curve["survival"], strict=True)), []).append(v)
    labels = {
        group[0]: group[0]
        + (f" (and {len(group) - 1} more, same curve: see caption)" if len(group) > 1 else "")
        for group in same.values()
    }
    held_label = f"guard held in every world ({_plural(len(held), 'variant')}, see caption)" if held else None
    rows = plots.legend_rows([*labels.values(), *([held_label] if held_label else [])], 10)
    fig, ax = plt.subplots(figsize=(10, 4.0 + 0.16 * rows), layout="constrained")
    end = float(np.nanmax(summary["last_cycle"]))
    plots.survival(km, ax, styles=style, labels=labels, held=held_label, end=end)
    merged = ["; ".join(group) for group in same.values() if len(group) > 1]
    plots.legend_below(fig, *ax.get_legend_handles_labels())
    save(
        fig,
        "guard_survival.png",
        "Share of worlds whose replication guard is still in place (Kaplan-Meier, censored at each world's "
        "last cycle, with 95% Greenwood bands). Look for where a curve crosses one half (the median bypass "
        "cycle) and which designs keep it near one."
        + (f" Guard held in every world (the grey line): {'; '.join(held)}." if held else "")
        + "".join(f" One curve for: {m}." for m in merged)
        + (
            f" No guard to bypass (loop.guard.mode=none, not drawn): {'; '.join(unguarded)}."
            if unguarded
            else ""
        )
        + note,
    )


def _phase(
    levels: pd.DataFrame,
    design: variants.Design,
    pair: tuple[str, str] | None,
    save: Callable[..., None],
    plt: Any,
) -> pd.DataFrame | None:
    factors = design.factors
    pooled = ", ".join(
        [
            *(variants.short(r) for r in design.replicates),
            *(["the values within each quantile bin"] if design.binned else []),
            "the worlds (seeds) of each run",
        ]
    )
    if len(factors) == 1:
        x = factors[0]
        shares = sweep.regime_shares(levels, x)
        fig, ax = plt.subplots(figsize=(max(5, 1.0 + 0.7 * shares.shape[1]), 3.2), layout="constrained")
        plots.phase(
            shares,
            ax,
            title=f"Share of worlds per regime; pooled over {pooled}",
            xlabel=variants.short(x),
            ylabel="regime",
            annotate=shares.shape[1] <= 16,
        )
        fig.colorbar(ax.collections[0], ax=ax, label="share of worlds")
        save(
            fig,
            "phase.png",
            f"Phase diagram: the share of worlds in each regime at each value of {variants.short(x)}, pooled "
            f"over {pooled}. Look for where the regime changes.",
        )
        return shares.stack().rename("share").reset_index().assign(x=x)
    if len(factors) < 2:
        return None
    pairs = [pair] if pair is not None else None
    tables = sweep.phase_tables(levels, factors, pairs=pairs)
    ncols = min(3, len(tables))
    nrows = math.ceil(len(tables) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.6 * ncols + 1.0, 3.6 * nrows), layout="constrained", squeeze=False
    )
    cells = []
    for ax, (x, y, table, worlds) in zip(axes.flat, tables, strict=False):
        others = [variants.short(f) for f in factors if f not in (x, y)]
        over = ", ".join([*others, pooled])
        plots.phase(
            table,
            ax,
            title="\n".join(textwrap.wrap(f"P(takeoff); mean over {over}", 52)),
            xlabel=variants.short(x),
            ylabel=variants.short(y),
            annotate=table.shape[0] <= 12 and table.shape[1] <= 12,
        )
        long = table.stack().rename("p_takeoff").to_frame().join(worlds.stack().rename("worlds"))
        cells.append(long.reset_index().rename(columns={y: "y_level", x: "x_level"}).assign(x=x, y=y))
    for ax in axes.flat[len(tables) :]:
        ax.set_visible(False)
    fig.colorbar(axes.flat[0].collections[0], ax=axes, label="P(takeoff)", shrink=0.8)
    save(
        fig,
        "phase.png",
        "Phase diagrams: the share of worlds that take off for every pair of swept parameters"
        + (f" (the pair {variants.short(pair[0])}, {variants.short(pair[1])})" if pair else "")
        + "; each panel's title says what it averages over. Look for the boundary where takeoff "
        "sets in, and whether it moves with the other parameters.",
    )
    return pd.concat(cells, ignore_index=True)[["x", "y", "x_level", "y_level", "p_takeoff", "worlds"]]
