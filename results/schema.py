"""The sweep store's schema (v2): names, dims, dtypes, units, written once.

Everything else imports these names; nothing retypes a variable's string. The
simulator's record (``loops.record.Trajectory``) carries the same variable
names; ``tests/results/test_schema.py`` checks that both sides agree.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

#: v2: batches of runs in one group (dimension ``run``), sharded, checksummed chunks, analysis
#: with the run. v1 (one group per run, no checksums) is still read.
SCHEMA_VERSION = 2

# Dimensions.
RUN, SEED, CYCLE, DOMAIN = "run", "seed", "cycle", "domain"
#: The coordinate along ``run`` holding each run's config hash.
RUN_ID = "run_id"

# Variable names: import these instead of retyping the strings.
SCORE = "score"
PROXY_SCORE = "proxy_score"
ABILITY = "ability"
ABILITY_MAX = "ability_max"
INSTANCES = "instances"
INSTANCES_EXTERNAL = "instances_external"
GUARD_INTACT = "guard_intact"
CRASHED = "crashed"
STUCK = "stuck"
RESULTS_ROWS = "results_rows"
COMPUTE_SHARE = "compute_share"
SPAWNS = "spawns"
GUARD_ERRORS = "guard_errors"
ACCEPTED = "accepted"
ROLLBACKS = "rollbacks"
PROPOSALS = "proposals"
CAPACITY_FAILURES = "capacity_failures"
TROUBLESHOOTS = "troubleshoots"
GUARD_PATCHES = "guard_patches"
DIVERGED_CYCLE = "diverged_cycle"
# The wild (model v2).
HOSTS_INFECTED = "hosts_infected"
HOSTS_CLEANED = "hosts_cleaned"
HOSTS_EVER_INFECTED = "hosts_ever_infected"
COPIES_WILD = "copies_wild"
EVASION_MEAN = "evasion_mean"
ABILITY_WILD = "ability_wild"
DETECTIONS = "detections"
INFECTIONS = "infections"


@dataclass(frozen=True)
class Variable:
    """One data variable of a run: its dims (without ``run``), dtype and attributes."""

    dims: tuple[str, ...]
    long_name: str
    units: str
    dtype: str = "float32"

    @property
    def fill(self) -> Any:
        """Return the fill value for missing data: NaN for floats, -1 for ints."""
        return np.nan if self.dtype.startswith("float") else -1


_SCD = (SEED, CYCLE, DOMAIN)
_SC = (SEED, CYCLE)

#: Every variable of a run, by name.
VARIABLES: dict[str, Variable] = {
    SCORE: Variable(_SCD, "held-out score (mean over working instances)", "fraction correct"),
    PROXY_SCORE: Variable(_SCD, "proxy score seen by the agent (mean over working instances)",
                          "fraction correct"),
    ABILITY: Variable(_SCD, "latent ability (mean over working instances)", "ability (logit)"),
    ABILITY_MAX: Variable(_SCD, "latent ability (max over working instances)", "ability (logit)"),
    INSTANCES: Variable(_SC, "instances alive on the home server", "instances"),
    INSTANCES_EXTERNAL: Variable(_SC, "instances alive on external servers", "instances"),
    GUARD_INTACT: Variable(_SC, "instances whose replication guard is in place", "instances"),
    CRASHED: Variable(_SC, "alive instances that stopped working", "instances"),
    STUCK: Variable(_SC, "working instances without an accepted change for patience cycles",
                    "instances"),
    RESULTS_ROWS: Variable(_SC, "rows written to the results database this cycle", "rows/cycle"),
    COMPUTE_SHARE: Variable(_SC, "mean fraction of a cycle of compute per working instance",
                            "fraction"),
    SPAWNS: Variable(_SC, "copies started", "instances/cycle"),
    GUARD_ERRORS: Variable(_SC, "replication attempts stopped by the guard", "errors/cycle"),
    ACCEPTED: Variable(_SC, "changes kept", "changes/cycle"),
    ROLLBACKS: Variable(_SC, "rollbacks to a checkpoint", "rollbacks/cycle"),
    PROPOSALS: Variable(_SC, "changes proposed by the LLM", "proposals/cycle"),
    CAPACITY_FAILURES: Variable(_SC, "copies that found no free slot", "attempts/cycle"),
    TROUBLESHOOTS: Variable(_SC, "troubleshooter interventions", "interventions/cycle"),
    GUARD_PATCHES: Variable(_SC, "in-loop guards patched out by the troubleshooter", "patches/cycle"),
    HOSTS_INFECTED: Variable(_SC, "wild hosts infected (NaN: no wild)", "hosts"),
    HOSTS_CLEANED: Variable(_SC, "wild hosts cleaned and immune (NaN: no wild)", "hosts"),
    HOSTS_EVER_INFECTED: Variable(_SC, "wild hosts infected at least once (NaN: no wild)", "hosts"),
    COPIES_WILD: Variable(_SC, "copies running on wild hosts (NaN: no wild)", "copies"),
    EVASION_MEAN: Variable(_SC, "mean evasion of the live wild copies (NaN: none)", "trait"),
    ABILITY_WILD: Variable(_SC, "mean latent ability of the live wild copies (NaN: none)", "ability (logit)"),
    DETECTIONS: Variable(_SC, "wild copies found by detectors", "copies/cycle"),
    INFECTIONS: Variable(_SC, "wild hosts newly infected", "hosts/cycle"),
    DIVERGED_CYCLE: Variable((SEED,), "first cycle past theta_max (-1: never)", "cycle", "int64"),
}

#: Attributes of the coordinates.
COORDS: dict[str, dict[str, str]] = {
    SEED: {"long_name": "seed index (world number in the run)", "units": "1"},
    CYCLE: {"long_name": "cycle of the core loop", "units": "cycle"},
    DOMAIN: {"long_name": "benchmark domain", "units": "1"},
    RUN_ID: {"long_name": "hash of the run's resolved config", "units": "1"},
}


#: Each variable's dtype as numpy's object, by the name :data:`VARIABLES` gives.
_DTYPES = {v.dtype: np.dtype(v.dtype) for v in VARIABLES.values()}


class SchemaError(ValueError):
    """A dataset does not follow the store schema."""


def run_dataset(arrays: dict[str, np.ndarray], *, seed: np.ndarray, cycle: np.ndarray,
                domain: tuple[str, ...] | list[str]) -> xr.Dataset:
    """Build one run's Dataset (no ``run`` dim) from the simulator's arrays.

    Parameters
    ----------
    arrays
        Every variable of :data:`VARIABLES` by name, shaped by its dims.
    seed, cycle, domain
        Coordinate values.

    Returns
    -------
    xarray.Dataset
        Schema-complete, with ``long_name`` and ``units`` on every variable.

    Examples
    --------
    >>> import numpy as np
    >>> arrays = {n: np.zeros([{"seed": 1, "cycle": 2, "domain": 1}[d] for d in v.dims], v.dtype)
    ...           for n, v in VARIABLES.items()}
    >>> run_dataset(arrays, seed=np.arange(1), cycle=np.arange(2), domain=["math"]).sizes["cycle"]
    2
    """
    missing = sorted(set(VARIABLES) - set(arrays))
    extra = sorted(set(arrays) - set(VARIABLES))
    if missing or extra:
        raise SchemaError(f"run arrays do not match schema v{SCHEMA_VERSION}: "
                          f"missing {missing}, unexpected {extra}")
    data = {name: np.asarray(arrays[name], dtype=var.dtype) for name, var in VARIABLES.items()}
    seed, cycle = np.asarray(seed, np.int64), np.asarray(cycle, np.int64)
    template = _template(seed.tobytes(), cycle.tobytes(), tuple(str(d) for d in domain))
    shapes = template.variables
    for name, values in data.items():
        if values.shape != shapes[name].shape:
            raise SchemaError(f"variable {name!r} has shape {values.shape}; expected {shapes[name].shape} "
                              f"for dims {VARIABLES[name].dims}")
        _check_finite(name, values)
    _check_cycles(cycle)
    # The template's coordinates, indexes and attributes with this run's values. The template
    # follows the schema (:func:`_template` validates it) and the values were checked above, so
    # the result does too: it is not validated again. Built with xarray's direct constructor
    # (internal: xarray's own methods build their results with it), which checks and merges
    # nothing: 0.1 ms a run, where ``template.copy(data=...)`` took 0.4-0.7 ms and the public
    # constructor 1 ms. ``tests/results/test_schema.py`` holds it identical to the public build.
    variables = {name: xr.Variable(var.dims, data[name], dict(var.attrs), fastpath=True) if name in data
                 else var.copy(deep=False) for name, var in template.variables.items()}
    return xr.Dataset._construct_direct(variables, set(template.coords), dict(template.sizes),
                                        indexes=dict(template.xindexes))


@functools.lru_cache(maxsize=8)
def _template(seed: bytes, cycle: bytes, domain: tuple[str, ...]) -> xr.Dataset:
    """Return a Dataset of the schema's variables (empty values) with these coordinates.

    :func:`run_dataset` copies it with a run's values; runs of equal coordinates
    share its coordinate variables and indexes, which nothing changes in place.
    """
    seeds, cycles = np.frombuffer(seed, np.int64), np.frombuffer(cycle, np.int64)
    sizes = {SEED: len(seeds), CYCLE: len(cycles), DOMAIN: len(domain)}
    data_vars = {
        name: (var.dims, np.zeros([sizes[d] for d in var.dims], dtype=var.dtype),
               {"long_name": var.long_name, "units": var.units})
        for name, var in VARIABLES.items()
    }
    coords = {
        SEED: (SEED, seeds.copy(), COORDS[SEED]),
        CYCLE: (CYCLE, cycles.copy(), COORDS[CYCLE]),
        DOMAIN: (DOMAIN, np.asarray(list(domain), dtype=object), COORDS[DOMAIN]),
    }
    template = xr.Dataset(data_vars, coords=coords)
    validate(template)
    return template


def _check_finite(name: Hashable, values: Any) -> None:
    """Raise :class:`SchemaError` if a float variable's values hold infinity."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f" and np.isinf(values).any():
        # DESIGN section 3: a diverged trajectory is NaN after it diverges; never infinity.
        raise SchemaError(f"variable {name!r} holds infinity; diverged values must be NaN")


def _check_cycles(cycle: np.ndarray) -> None:
    """Raise :class:`SchemaError` unless the cycles kept increase strictly."""
    if len(cycle) > 1 and not bool((np.diff(cycle) > 0).all()):
        raise SchemaError("coordinate 'cycle' must increase strictly (the cycles kept)")


def validate(ds: xr.Dataset, *, with_run: bool = False) -> None:
    """Check that ``ds`` follows the schema.

    Parameters
    ----------
    ds
        One run (``with_run=False``) or a sweep (``with_run=True``).

    Raises
    ------
    SchemaError
        Naming the first variable or coordinate that is wrong and how.
    """
    lead = (RUN,) if with_run else ()
    variables, data_vars = ds.variables, ds.data_vars  # Variables: no DataArray built per check
    for name, var in VARIABLES.items():
        if name not in data_vars:
            raise SchemaError(f"variable {name!r} is missing")
        da = variables[name]
        if da.dims != lead + var.dims:
            raise SchemaError(f"variable {name!r} has dims {da.dims}; expected {lead + var.dims}")
        dtype = _DTYPES[var.dtype]
        if da.dtype != dtype:
            raise SchemaError(f"variable {name!r} has dtype {da.dtype}; expected {var.dtype}")
        attrs = da.attrs
        for attr in ("long_name", "units"):
            if attr not in attrs:
                raise SchemaError(f"variable {name!r} lacks the {attr!r} attribute")
        _check_finite(name, da._data)
    for coord in (SEED, CYCLE, DOMAIN) + ((RUN_ID,) if with_run else ()):
        if coord not in ds.coords:
            raise SchemaError(f"coordinate {coord!r} is missing")
        want = (RUN,) if coord == RUN_ID else (coord,)
        variable = ds.variables[coord]
        if variable.dims != want:
            raise SchemaError(f"coordinate {coord!r} has dims {variable.dims}; expected {want}")
        if coord in (SEED, CYCLE) and variable.dtype != np.int64:
            raise SchemaError(f"coordinate {coord!r} has dtype {variable.dtype}; expected int64")
    _check_cycles(ds.variables[CYCLE].values)
