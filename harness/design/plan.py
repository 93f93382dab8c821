"""A design sweep's jobs and the record of its design that the store keeps.

The jobs are the grid's cells crossed with the design's rows: for each cell
(one value per comma list or ``range()``), every row of the design, in order.
A job's overrides are the fixed overrides, the cell's, then one ``key=value``
per design parameter, so a run is identified like any other run (its config's
hash): rerunning the command finds the runs already done.
"""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.design import methods
from harness.design.space import Parameter, split
from loops.params import ConfigError

#: Version of the design record's layout (the store's root attribute ``design``; ``design.json`` before).
RECORD_FORMAT = 1

#: How values are drawn, written into every design record (the outputs say how categories were sampled).
SAMPLING_NOTE = (
    "each run's row holds one u in [0, 1] per parameter: interval(lo,hi) takes lo + u (hi - lo); "
    "tag(log,interval(lo,hi)) takes exp(ln lo + u (ln hi - ln lo)); an interval on an integer key takes "
    "floor(v), v = lo + u (hi + 1 - lo) uniform in [lo, hi + 1); choice(a,b,...) of m values takes the "
    "value of index floor(m u), m u uniform in [0, m) (u = 1, Morris's top level, takes the last value)"
)


@dataclass(frozen=True)
class Plan:
    """A design crossed with a grid.

    Attributes
    ----------
    method, n, seed
        The design (``hydra.sweeper.method``, ``.n``, ``.seed``).
    fixed
        Overrides every job gets.
    grid
        One list of ``key=value`` overrides per grid axis.
    params
        The design's parameters.
    rows
        ``(runs, D)`` the design in the unit cube.
    """

    method: str
    n: int
    seed: int
    fixed: tuple[str, ...]
    grid: tuple[tuple[str, ...], ...]
    params: tuple[Parameter, ...]
    rows: np.ndarray

    def cells(self) -> list[list[str]]:
        """Return the grid's cells: one override per axis (one empty cell without a grid)."""
        return [list(cell) for cell in itertools.product(*self.grid)]

    def row_overrides(self) -> list[list[str]]:
        """Return the design parameters' overrides of each row."""
        return [[p.override(u) for p, u in zip(self.params, row, strict=True)] for row in self.rows]

    def jobs(self) -> list[list[str]]:
        """Return every job's overrides: cells outer, rows inner."""
        rows = self.row_overrides()
        return [[*self.fixed, *cell, *row] for cell in self.cells() for row in rows]

    def record(self, command: str) -> dict[str, Any]:
        """Return the design as plain data, for the store (``SweepStore.keep_design``).

        Parameters
        ----------
        command
            The sweep command that reruns this design into the same store
            (what fills the holes failed runs leave).
        """
        chosen = methods.METHODS.get(self.method)
        return {
            "format": RECORD_FORMAT,
            "method": self.method,
            "n": self.n,
            "seed": self.seed,
            "block": chosen.block(len(self.params)),
            "indices": chosen.indices,
            "parameters": [p.record() for p in self.params],
            "grid_keys": [axis[0].split("=", 1)[0] for axis in self.grid],
            "cells": self.cells(),
            "fixed": list(self.fixed),
            "rows": self.rows.tolist(),
            "values": self.row_overrides(),
            "sampling": SAMPLING_NOTE,
            "command": command,
        }


def _identity(overrides: Sequence[str]) -> frozenset[str]:
    """Return the overrides that change what a run is (Hydra's keys, ``store`` and ``engine`` left out)."""
    from harness.job import NOT_IDENTITY

    keys = {o: o.split("=", 1)[0].lstrip("+~") for o in overrides}
    return frozenset(o for o, k in keys.items()
                     if not k.startswith(("hydra.", "hydra/")) and k not in NOT_IDENTITY)


def _either(name: str, here: Any, there: Any) -> str:
    return f"{name} ({here} here, {there} in the store)"


def differences(recorded: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Return what makes design record ``new`` another design than ``recorded`` (empty: the same design).

    The same design asks for the same runs: method, size, seed, parameters
    and ranges, the rows, and the same fixed overrides and grid cells (as
    sets, whatever their order; ``store=``, ``engine=`` and Hydra's own keys
    left out, since they do not change a run). The command that wrote it
    and the overrides' order may differ.

    Examples
    --------
    >>> a = {"format": 1, "method": "lhs", "n": 8, "seed": 0, "parameters": [], "rows": [],
    ...      "fixed": ["cycles=20"], "grid_keys": [], "cells": [[]]}
    >>> differences(a, a | {"fixed": ["cycles=20", "store=/tmp/r.zarr"]})
    []
    >>> differences(a, a | {"n": 16, "seed": 1})
    ['n (16 here, 8 in the store)', 'seed (1 here, 0 in the store)']
    """
    out = [_either(name, new.get(name), recorded.get(name))
           for name in ("format", "method", "n", "seed") if recorded.get(name) != new.get(name)]
    texts = [[f"{p.get('key')}={p.get('text')}" for p in d.get("parameters", [])] for d in (new, recorded)]
    if recorded.get("parameters") != new.get("parameters"):
        out.append(_either("parameters", " ".join(texts[0]), " ".join(texts[1])))
    fixed = [_identity(d.get("fixed", [])) for d in (new, recorded)]
    if fixed[0] != fixed[1]:
        out.append(_either("fixed overrides", " ".join(sorted(fixed[0] - fixed[1])) or "none more",
                           " ".join(sorted(fixed[1] - fixed[0])) or "none more"))
    cells = [{_identity(c) for c in d.get("cells", [])} for d in (new, recorded)]
    if cells[0] != cells[1]:
        out.append(_either("grid cells", len(cells[0]), len(cells[1])))
    if not out and recorded.get("rows") != new.get("rows"):
        out.append("the rows (same method, n, seed and parameters: the sampler of another SALib or scipy "
                   "version draws other points)")
    return out


def make_plan(overrides: list[Any], *, method: str, n: int, seed: int) -> Plan:
    """Return the plan of a design sweep from its parsed Hydra overrides.

    Raises
    ------
    ConfigError
        On a bad method, size, seed or range, or when no override is a design
        parameter.
    """
    methods.check(method, n, seed)
    fixed, grid, params = split(overrides)
    if not params:
        raise ConfigError("hydra/sweeper=design needs at least one design parameter: "
                          "key=interval(lo,hi), key=tag(log,interval(lo,hi)) or key=choice(a,b,...)")
    rows = methods.sample(method, n, len(params), seed)
    return Plan(method, n, seed, tuple(fixed), tuple(tuple(a) for a in grid), tuple(params), rows)


def sweep_command(hydra_overrides: Sequence[str], task_overrides: Sequence[str], store: str) -> str:
    """Return the shell command that reruns a sweep into ``store`` (resume fills what is missing).

    Examples
    --------
    >>> sweep_command(["hydra/sweeper=design"], ["k=interval(0,1)"], "/tmp/r.zarr")
    "takeoff -m hydra/sweeper=design 'k=interval(0,1)' store=/tmp/r.zarr"
    """
    keep = [o for o in hydra_overrides if not o.startswith(("hydra.mode=", "hydra.sweep.dir="))]
    task = [o for o in task_overrides if not o.startswith("store=")]
    return " ".join(["takeoff", "-m", *map(shlex.quote, [*keep, *task, f"store={store}"])])
