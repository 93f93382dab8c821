"""The analysis of a design sweep: per-run outputs, Sobol / Morris indices, PRIM scenarios.

A store written by the design sweeper (``hydra/sweeper=design``) holds its
design (``results.SweepStore.design``): the parameters, the grid's cells and
each row's overrides. Each done run is matched to its (cell, row) by its
overrides. Per run, over its seeds:

- ``p_takeoff``: the share of worlds in the ``takeoff`` regime;
- ``blowup_cycle``, ``guard_bypass_cycle``: medians, a world where the event
  never happens counted at the run's ``cycles`` (censored), so no output is NaN
  because an event did not happen;
- ``peak_instances``, ``escaped_instances``, ``final_ability``: means.

Within each grid cell, ``saltelli`` designs give first-order and total Sobol
indices (SALib ``analyze.sobol``), ``morris`` designs ``mu_star`` and ``sigma``
(SALib ``analyze.morris``); a Saltelli block (D + 2 runs) or Morris trajectory
(D + 1 runs) with a run missing is left out whole and counted. Scenario
discovery runs PRIM (the EMA Workbench's, ``ema_workbench.analysis.prim``,
through its public API) on every design: the boxes of parameter space where a
condition on the outputs holds (default ``p_takeoff >= 0.5``).
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

log = logging.getLogger(__name__)

#: Per-run outputs, in the order of the tables.
OUTPUTS = ("p_takeoff", "blowup_cycle", "guard_bypass_cycle", "peak_instances", "escaped_instances",
           "final_ability")
#: Outputs that are medians over seeds, a world without the event counted at ``cycles``.
CENSORED = ("blowup_cycle", "guard_bypass_cycle")
#: The default condition of scenario discovery.
DEFAULT_SCENARIO = "p_takeoff >= 0.5"
#: Keys that do not change what a run is (left out when matching a run's overrides to the design).
NOT_IDENTITY = ("store", "engine")
#: Most boxes PRIM looks for per cell (covering: each next box among the runs the earlier ones left).
MAX_BOXES = 3
#: A box whose density is below this is no scenario: PRIM's search stops there.
MIN_DENSITY = 0.5
#: PRIM's threshold on the 0/1 outcome: a run with y >= it is a case of interest (y = 1), and a box
#: whose final mean falls below it is returned as the EMA Workbench's "dump box" (then the search stops).
PRIM_THRESHOLD = 0.5


class ScenarioError(ValueError):
    """A ``--scenario`` expression cannot be evaluated over the per-run outputs."""


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _identity(overrides: list[str]) -> frozenset[str]:
    """Return the overrides that identify a run (Hydra's own keys, store and engine left out)."""
    return frozenset(o for o in overrides if not _key(o).startswith("hydra.") and _key(o) not in NOT_IDENTITY)


@dataclass
class Design:
    """A design sweep's record (``results.SweepStore.design``) with helpers.

    Attributes
    ----------
    record
        The record as the sweeper wrote it.
    """

    record: dict[str, Any]
    keys: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.keys = [p["key"] for p in self.record["parameters"]]

    @property
    def method(self) -> str:
        """The design method (``saltelli``, ``morris``, ``lhs``, ``sobol``)."""
        return str(self.record["method"])

    @property
    def block(self) -> int:
        """Rows per block (D + 2 for Saltelli, D + 1 for Morris, else 1)."""
        return int(self.record["block"])

    @property
    def rows(self) -> np.ndarray:
        """``(rows, D)`` the design in the unit cube."""
        return np.asarray(self.record["rows"], dtype=np.float64).reshape(-1, len(self.keys))

    @property
    def grid_keys(self) -> list[str]:
        """The grid's keys (one column each in the tables)."""
        return [k.lstrip("+~") for k in self.record["grid_keys"]]

    def describe(self) -> str:
        """Return one line: method, size, seed and parameter ranges."""
        ranges = ", ".join(f"{p['key']}={p['text']}" for p in self.record["parameters"])
        return f"{self.method} design, n={self.record['n']}, seed={self.record['seed']}: {ranges}"

    def cell_values(self, cell: int) -> dict[str, str]:
        """Return the grid keys' values of cell ``cell`` (override text)."""
        return {_key(o): o.split("=", 1)[1] for o in self.record["cells"][cell]}

    def value(self, row: int, j: int) -> Any:
        """Return parameter ``j``'s value in row ``row`` (number, or text for a choice)."""
        text = self.record["values"][row][j].split("=", 1)[1]
        kind = self.record["parameters"][j]["kind"]
        if kind == "choice":
            return text
        return int(text) if kind == "integer" else float(text)

    def jobs(self) -> dict[frozenset[str], list[tuple[int, int]]]:
        """Return the ``(cell, row)`` places of each job, by its identifying overrides.

        Two rows can ask for the same run (Morris trajectories meeting at a
        grid point, an integer or choice parameter in a Saltelli block): one
        run fills every place it was asked for.
        """
        fixed = list(self.record["fixed"])
        out: dict[frozenset[str], list[tuple[int, int]]] = {}
        for c, cell in enumerate(self.record["cells"]):
            for r, row in enumerate(self.record["values"]):
                out.setdefault(_identity([*fixed, *cell, *row]), []).append((c, r))
        return out


def load_design(store: str) -> Design | None:
    """Return the design recorded in a store, or None for a store of a plain sweep."""
    import results

    record = results.SweepStore(store, create=False).design()
    return Design(record) if record else None


def run_outputs(summary: pd.DataFrame, cycles: dict[str, float]) -> pd.DataFrame:
    """Return the per-run outputs (see the module docstring), indexed by ``run_id``.

    Parameters
    ----------
    summary
        One row per (run, seed) (``analysis.summary.summarize``).
    cycles
        Each run's ``cycles``, by run id (the censoring point).
    """
    frame = summary.assign(takeoff=(summary["regime"] == "takeoff").astype(float))
    for name in CENSORED:
        ends = frame["run_id"].map(cycles).astype(float)
        frame[name] = frame[name].astype(float).fillna(ends)
    grouped = frame.groupby("run_id", sort=True)
    out = pd.DataFrame({
        "p_takeoff": grouped["takeoff"].mean(),
        **{name: grouped[name].median() for name in CENSORED},
        **{name: grouped[name].mean() for name in ("peak_instances", "escaped_instances", "final_ability")},
    })
    return out[list(OUTPUTS)]


def design_table(design: Design, outputs: pd.DataFrame, overrides: dict[str, list[str]]) -> pd.DataFrame:
    """Return one row per job of the design: cell, row, grid values, parameter values, run id, outputs.

    A job without a done run keeps NaN outputs and an empty ``run_id``.
    """
    jobs = design.jobs()
    found: dict[tuple[int, int], str] = {}
    for rid, ovr in overrides.items():
        if rid in outputs.index:
            for where in jobs.get(_identity(list(ovr)), []):
                found[where] = rid
    records = []
    for c in range(len(design.record["cells"])):
        cell = design.cell_values(c)
        for r in range(len(design.record["values"])):
            rid = found.get((c, r), "")
            row: dict[str, Any] = {"cell": c, "row": r, **cell}
            row |= {key: design.value(r, j) for j, key in enumerate(design.keys)}
            row["run_id"] = rid
            row |= {name: (outputs.at[rid, name] if rid else math.nan) for name in OUTPUTS}
            records.append(row)
    return pd.DataFrame(records)


def complete_blocks(table: pd.DataFrame, block: int) -> np.ndarray:
    """Return, per block of ``block`` consecutive rows of one cell, whether every run in it is done."""
    done = (table["run_id"] != "").to_numpy()
    whole: np.ndarray = done.reshape(-1, block).all(axis=1)
    return whole


def _problem(design: Design) -> dict[str, Any]:
    """Return SALib's problem: the design works in the unit cube (values are mapped from it)."""
    d = len(design.keys)
    return {"num_vars": d, "names": list(design.keys), "bounds": [[0.0, 1.0]] * d}


def indices(design: Design, table: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """Return the sensitivity indices of every output in every cell (``sensitivity.csv``).

    Columns: the grid keys, ``output``, ``parameter``, then ``S1``, ``S1_conf``,
    ``ST``, ``ST_conf`` (``saltelli``) or ``mu_star``, ``mu_star_conf``,
    ``sigma`` (``morris``; in output units per whole range of the parameter),
    then ``blocks`` (used) and ``blocks_left_out``. An output that is
    constant (or not finite) in a cell gets NaN indices.
    """
    from SALib.analyze import morris, sobol

    problem = _problem(design)
    rows: list[dict[str, Any]] = []
    for c, cell_table in table.groupby("cell", sort=True):
        cell = design.cell_values(int(c))
        whole = complete_blocks(cell_table, design.block)
        keep = np.repeat(whole, design.block)
        used = cell_table[keep]
        for name in OUTPUTS:
            y = used[name].to_numpy(dtype=float)
            ok = len(y) > 0 and bool(np.isfinite(y).all()) and float(np.ptp(y)) > 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                if design.method == "saltelli":
                    res = sobol.analyze(problem, y, calc_second_order=False, seed=seed) if ok else None
                    cols: tuple[str, ...] = ("S1", "S1_conf", "ST", "ST_conf")
                else:
                    x = design.rows[used["row"].to_numpy()]
                    res = morris.analyze(problem, x, y, num_levels=4, seed=seed) if ok else None
                    cols = ("mu_star", "mu_star_conf", "sigma")
            for j, key in enumerate(design.keys):
                values = {col: float(res[col][j]) if res is not None else math.nan for col in cols}
                rows.append({**cell, "output": name, "parameter": key, **values,
                             "blocks": int(whole.sum()), "blocks_left_out": int((~whole).sum())})
    return pd.DataFrame(rows)


def check_scenario(expr: str) -> None:
    """Check that ``expr`` is a condition over the per-run outputs.

    Raises
    ------
    ScenarioError
        With what is wrong and the names that may be used.
    """
    probe = pd.DataFrame({name: [0.0, 1.0] for name in OUTPUTS})
    try:
        result = condition(probe, expr)
    except ScenarioError:
        raise
    except Exception as err:  # noqa: BLE001  (pandas raises many kinds for a bad expression)
        raise ScenarioError(f"--scenario {expr!r} cannot be evaluated ({type(err).__name__}: {err}); "
                            f"write a condition over {', '.join(OUTPUTS)}, "
                            f"e.g. 'escaped_instances > 0'") from None
    if len(result) != len(probe):
        raise ScenarioError(f"--scenario {expr!r} does not give one truth value per run")


def condition(outputs: pd.DataFrame, expr: str) -> pd.Series:
    """Return, per run, whether ``expr`` (a pandas ``eval`` expression over the outputs) holds."""
    result = outputs[list(OUTPUTS)].eval(expr)
    if not isinstance(result, pd.Series) or result.dtype != bool:
        raise ScenarioError(f"--scenario {expr!r} is not a condition (it gives "
                            f"{getattr(result, 'dtype', type(result).__name__)}, not true/false); "
                            f"e.g. 'p_takeoff >= 0.5'")
    return result


@dataclass
class Scenario:
    """PRIM's result in one cell: the boxes and, for the figure, the first box's peeling trajectory.

    ``trajectory`` has one row per step: ``coverage``, ``density``, ``mass``,
    ``res_dim`` (parameters the step restricts).
    """

    cell: int
    boxes: pd.DataFrame
    trajectory: pd.DataFrame
    chosen: int
    x: pd.DataFrame
    y: np.ndarray


def choose(trajectory: pd.DataFrame) -> int:
    """Return the box of a peeling trajectory with the best balance of coverage and density.

    PRIM gives a trajectory from the whole space (coverage 1) to small, dense
    boxes; the box kept is the one with the largest harmonic mean of coverage
    and density (an F-score). The figure shows the whole trajectory.
    """
    c = trajectory["coverage"].to_numpy(float)
    d = trajectory["density"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(c + d > 0, 2 * c * d / (c + d), 0.0)
    return int(np.argmax(f))


def _box_rows(design: Design, box: Any, chosen: int, number: int, names: dict[str, str],
              x: pd.DataFrame) -> list[dict[str, Any]]:
    """Return one row per parameter of box ``number`` at step ``chosen`` of its peeling trajectory.

    ``box.box_lims`` (public in the EMA Workbench) holds one table per step,
    rows 0 and 1 the lower and upper limits; a categorical parameter's limit
    is the set of values the box keeps. Step 0 is the box of every run left.
    PRIM leaves out a categorical parameter that has one value in ``x``: the
    box keeps that value, unrestricted.
    """
    lims, start = box.box_lims[chosen], box.box_lims[0]
    stats = box.peeling_trajectory.iloc[chosen]
    rows = []
    for p in design.record["parameters"]:
        col = names[p["key"]]
        base: dict[str, Any] = {"box": number, "coverage": float(stats["coverage"]),
                                "density": float(stats["density"]), "parameter": p["key"]}
        if p["kind"] == "choice":
            kept = set(lims[col].iloc[0]) if col in lims.columns else set(x[col])
            restricted = col in lims.columns and kept != set(start[col].iloc[0])
            kept_values = [v for v in p["values"] if v in kept]
            rows.append(base | {"low": math.nan, "high": math.nan, "values": "|".join(kept_values),
                                "restricted": restricted})
            continue
        low, high = float(lims[col].iloc[0]), float(lims[col].iloc[1])
        restricted_low, restricted_high = low > float(start[col].iloc[0]), high < float(start[col].iloc[1])
        # An unrestricted side is the parameter's whole range, not the extreme run's value.
        rows.append(base | {"low": low if restricted_low else p["low"],
                            "high": high if restricted_high else p["high"], "values": "",
                            "restricted": restricted_low or restricted_high})
    return rows


def scenarios(design: Design, table: pd.DataFrame, expr: str) -> tuple[pd.DataFrame, list[Scenario]]:
    """Return the PRIM boxes where ``expr`` holds, per cell (``scenarios.csv``), and their trajectories.

    Columns: the grid keys, ``box`` (1, 2, ...: PRIM's covering order),
    ``coverage``, ``density``, ``parameter``, ``low``, ``high``, ``values``
    (the kept values of a ``choice`` parameter, ``|``-separated), then
    ``restricted`` (whether the box limits the parameter). A parameter the box
    leaves alone has its whole range as ``low``/``high``.
    """
    frames, found = [], []
    names = {key: f"x{j}" for j, key in enumerate(design.keys)}
    for c, cell_table in table.groupby("cell", sort=True):
        done = cell_table[cell_table["run_id"] != ""]
        cell = design.cell_values(int(c))
        if done.empty:
            continue
        y = condition(done, expr).to_numpy(bool)
        x = pd.DataFrame({names[k]: (done[k].astype(str).astype(object) if p["kind"] == "choice"
                                     else done[k].astype(float))
                          for k, p in zip(design.keys, design.record["parameters"], strict=True)})
        x = x.reset_index(drop=True)
        if not y.any():
            log.info("cell %d: no run meets %s", c, expr)
            continue
        if y.all():  # every run meets it: the box is the whole space, nothing to peel
            rows = [{"box": 1, "coverage": 1.0, "density": 1.0, "parameter": p["key"],
                     "low": p["low"] if p["kind"] != "choice" else math.nan,
                     "high": p["high"] if p["kind"] != "choice" else math.nan,
                     "values": "|".join(p["values"]), "restricted": False}
                    for p in design.record["parameters"]]
            first = None
        else:
            rows, first = _prim_boxes(design, x, y, int(c), names)
        boxes = pd.DataFrame(rows)
        for key, value in reversed(cell.items()):
            boxes.insert(0, key, value)
        frames.append(boxes)
        if first is not None:
            first.boxes = boxes
            found.append(first)
    columns = [*design.grid_keys, "box", "coverage", "density", "parameter", "low", "high", "values",
               "restricted"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return out.reindex(columns=columns), found


def _prim_boxes(design: Design, x: pd.DataFrame, y: np.ndarray, cell: int,
                names: dict[str, str]) -> tuple[list[dict[str, Any]], Scenario | None]:
    """Run PRIM (covering: up to MAX_BOXES boxes); return the boxes' rows and the first box's trajectory.

    Needs runs of both outcomes in ``y`` (the EMA Workbench's binary PRIM
    refuses others; :func:`scenarios` handles all or none meeting it).
    """
    rows: list[dict[str, Any]] = []
    first: Scenario | None = None
    with warnings.catch_warnings():
        # The workbench warns on import about optional parts it does not find (ipyparallel, altair).
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        finder = prim.Prim(x, y.astype(np.int64), threshold=PRIM_THRESHOLD)
        for number in range(1, MAX_BOXES + 1):
            box = finder.find_box()
            if box is None or len(box.peeling_trajectory) == 0:
                break
            chosen = choose(box.peeling_trajectory)
            if float(box.peeling_trajectory["density"].iloc[chosen]) < MIN_DENSITY:
                break
            box.select(chosen)
            rows += _box_rows(design, box, chosen, number, names, x)
            if first is None:
                trajectory = box.peeling_trajectory[["coverage", "density", "mass", "res_dim"]].copy()
                first = Scenario(cell, pd.DataFrame(), trajectory.reset_index(drop=True), chosen, x, y)
            if float(box.peeling_trajectory["coverage"].iloc[chosen]) >= 1.0:
                break
    return rows, first


def mark_design_parameters(ds: xr.Dataset) -> xr.Dataset:
    """Return the sweep with its design's parameter coordinates marked (``DESIGN_PARAMETER`` attribute).

    A design gives every run its own values: those coordinates are no
    variant's label and no axis of a phase diagram. A store without a design
    is returned as it is.
    """
    from analysis.summary import DESIGN_PARAMETER

    design = load_design(str(ds.attrs.get("store", ""))) if ds.attrs.get("store") else None
    if design is None:
        return ds
    names = json.loads(ds.attrs.get("parameters", "{}"))
    marked = {}
    for key in design.keys:
        name = names.get(key.lstrip("+~"), key.lstrip("+~"))
        if name in ds.coords:
            marked[name] = ds[name].assign_attrs({DESIGN_PARAMETER: design.method})
    return ds.assign_coords(marked)
