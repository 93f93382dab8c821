"""The design part of ``takeoff-report``: sensitivity.csv, scenarios.csv, their figures and text.

Called by :func:`analysis.report.write_report` with the per-world summary it
computed; does nothing on a store without a design.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from analysis import design_plots, sensitivity
from analysis.sensitivity import OUTPUTS, Design
from analysis.summary import run_configs
from results.provenance import config_value

#: What a block of the design is called in the text.
BLOCK_NAMES = {"saltelli": "Saltelli blocks", "morris": "Morris trajectories"}


def write_design_report(ds: xr.Dataset, summary: pd.DataFrame, out: Path, *,
                        save: Callable[[Any, str, str], None],
                        scenario: str = sensitivity.DEFAULT_SCENARIO) -> list[str] | None:
    """Write the design's tables and figures into ``out``; return the report's text lines.

    Parameters
    ----------
    ds
        The sweep (``results.open_sweep``).
    summary
        Its per-(run, seed) table (``analysis.summary.summarize``).
    out
        The report directory.
    save
        ``save(figure, file name, caption)``: the report's way of keeping a figure.
    scenario
        The condition over the per-run outputs that PRIM looks for.

    Returns
    -------
    list of str or None
        None when the store holds no design.
    """
    import matplotlib.pyplot as plt

    design = sensitivity.load_design(str(ds.attrs.get("store", "")))
    if design is None:
        return None
    import json

    configs = run_configs(ds)
    cycles = {rid: float(config_value(cfg, "cycles", math.nan)) for rid, cfg in configs.items()}
    outputs = sensitivity.run_outputs(summary, cycles)
    table = sensitivity.design_table(design, outputs, json.loads(ds.attrs.get("overrides", "{}")))
    table.to_csv(out / "design_runs.csv", index=False)
    done = int((table["run_id"] != "").sum())
    lines = [f"Design: {design.describe()}; {len(table)} runs planned, {done} done "
             f"(per-run outputs: design_runs.csv)."]
    if any(p["kind"] == "choice" for p in design.record["parameters"]):
        lines.append("A choice(...) parameter of m values takes the value of index floor(m u), "
                     "m u uniform in [0, m): each value equally likely.")
    lines += _missing(design, table)

    if design.record["indices"]:
        frame = sensitivity.indices(design, table)
        frame.to_csv(out / "sensitivity.csv", index=False)
        lines += _ranking(design, frame)
        for c, cell in enumerate(design.record["cells"]):
            part = frame.loc[_in_cell(frame, design, c)]
            shown = [o for o in OUTPUTS if part.loc[part["output"] == o].iloc[:, -4:].notna().any().any()
                     and _finite(part, o)]
            if not shown:
                continue
            cols = 2 if len(shown) > 1 else 1
            height = 0.35 * len(design.keys) + 1.2
            fig, axes = plt.subplots(math.ceil(len(shown) / cols), cols, squeeze=False, layout="constrained",
                                     figsize=(11 if cols == 2 else 6, height * math.ceil(len(shown) / cols)))
            for ax, name in zip(axes.flat, shown, strict=False):
                design_plots.indices(part[part["output"] == name], ax, title=name)
            for ax in list(axes.flat)[len(shown):]:
                ax.set_visible(False)
            axes.flat[0].legend(fontsize=7, loc="lower right")
            suffix = "" if len(design.record["cells"]) == 1 else f"-{c}"
            where = " ".join(cell) or "the whole design"
            save(fig, f"sensitivity{suffix}.png",
                 f"Sensitivity indices with 95% intervals, {where} "
                 f"({design.method}, n={design.record['n']}).")
    else:
        lines.append(f"A {design.method} design gives no sensitivity indices (use saltelli or morris); "
                     f"scenario discovery below.")

    boxes, found = sensitivity.scenarios(design, table, scenario)
    boxes.to_csv(out / "scenarios.csv", index=False)
    lines += _scenario_text(design, boxes, scenario)
    for result in found:
        suffix = "" if len(design.record["cells"]) == 1 else f"-{result.cell}"
        fig = _scenario_figure(design, result, scenario)
        save(fig, f"scenarios{suffix}.png",
             f"PRIM for {scenario}: peeling trajectory, the chosen box, and the runs on its two most "
             f"restricted parameters.")
    return lines


def _in_cell(frame: pd.DataFrame, design: Design, cell: int) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for key, value in design.cell_values(cell).items():
        mask &= frame[key].astype(str).to_numpy() == value
    return mask


def _finite(part: pd.DataFrame, output: str) -> bool:
    col = "ST" if "ST" in part else "mu_star"
    return bool(np.isfinite(part.loc[part["output"] == output, col].to_numpy(float)).any())


def _missing(design: Design, table: pd.DataFrame) -> list[str]:
    missing = int((table["run_id"] == "").sum())
    if not missing:
        return []
    lines = []
    if design.block > 1:
        left = sum(int((~sensitivity.complete_blocks(t, design.block)).sum())
                   for _, t in table.groupby("cell"))
        lines.append(f"{missing} runs of the design are missing or failed: {left} incomplete "
                     f"{BLOCK_NAMES[design.method]} left out of the indices.")
    else:
        lines.append(f"{missing} runs of the design are missing or failed; scenario discovery used the rest.")
    lines.append(f"Fill them (done runs are kept): {design.record['command']}")
    return lines


def _ranking(design: Design, frame: pd.DataFrame) -> list[str]:
    col = "ST" if design.method == "saltelli" else "mu_star"
    conf = f"{col}_conf"
    lines = []
    for c in range(len(design.record["cells"])):
        part = frame.loc[_in_cell(frame, design, c)]
        cell = " ".join(design.record["cells"][c])
        for name in OUTPUTS:
            rows = part[(part["output"] == name) & part[col].notna()].sort_values(col, ascending=False)
            if rows.empty:
                continue
            top = ", ".join(f"{r.parameter} {getattr(r, col):.2f}±{getattr(r, conf):.2f}"
                            for r in rows.head(3).itertuples())
            lines.append(f"{'[' + cell + '] ' if cell else ''}{name}: largest {col}: {top}.")
    return lines


def _scenario_text(design: Design, boxes: pd.DataFrame, scenario: str) -> list[str]:
    if boxes.empty:
        return [f"Scenario {scenario}: no run meets it; no box (scenarios.csv is empty)."]
    lines = []
    keys = design.grid_keys
    for _, box in boxes.groupby([*keys, "box"], sort=True):
        first = box.iloc[0]
        limits = []
        for r in box[box["restricted"].astype(bool)].itertuples():
            if str(r.values) and str(r.values) != "nan":
                limits.append(f"{r.parameter} in {{{str(r.values).replace('|', ', ')}}}")
            else:
                limits.append(f"{r.low:.4g} <= {r.parameter} <= {r.high:.4g}")
        cell = " ".join(f"{k}={first[k]}" for k in keys)
        lines.append(f"Scenario {scenario}{' [' + cell + ']' if cell else ''}, box {int(first['box'])}: "
                     f"coverage {first['coverage']:.2f}, density {first['density']:.2f}: "
                     + ("; ".join(limits) if limits else "the whole design space") + ".")
    return lines


def _scenario_figure(design: Design, result: sensitivity.Scenario, scenario: str) -> Any:
    import matplotlib.pyplot as plt

    params = design.record["parameters"]
    box = result.boxes[result.boxes["box"] == 1]
    fig, axes = plt.subplots(1, 3, figsize=(16, 0.35 * len(params) + 3.2), layout="constrained")
    design_plots.tradeoff(result.trajectory, result.chosen, axes[0], title=f"PRIM peeling: {scenario}")
    design_plots.box_limits(box, params, axes[1], title="Chosen box (red: restricted)")
    numeric = [p for p in params if p["kind"] != "choice"]
    restricted = {str(r["parameter"]) for _, r in box.iterrows() if bool(r["restricted"])}
    order = sorted(numeric, key=lambda p: p["key"] not in restricted)
    if len(order) >= 2:
        names = {p["key"]: f"x{j}" for j, p in enumerate(params)}
        a, b = order[0], order[1]
        by_key = {str(r["parameter"]): r for _, r in box.iterrows()}
        rect = (float(by_key[a["key"]]["low"]), float(by_key[a["key"]]["high"]),
                float(by_key[b["key"]]["low"]), float(by_key[b["key"]]["high"]))
        design_plots.box_scatter(result.x, result.y, (names[a["key"]], names[b["key"]]), (a["key"], b["key"]),
                                 rect, axes[2], title="Runs and the chosen box")
    else:
        axes[2].set_visible(False)
    return fig
