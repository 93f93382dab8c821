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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.design import methods
from harness.design.space import Parameter, split
from loops.params import ConfigError

#: Version of the design record's layout (``design.json`` in the store).
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
        """Return the design as plain data, for the store (``SweepStore.write_design``).

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
