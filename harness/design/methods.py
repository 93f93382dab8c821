"""The designs, as rows of the unit cube: SALib for Saltelli and Morris, ``scipy.stats.qmc`` for the rest.

Each method returns a ``(runs, D)`` float64 array in [0, 1]. Rows come in
blocks that an analysis needs whole: ``D + 2`` rows per Saltelli base sample
(A, B and the D columns of A with one column from B), ``D + 1`` per Morris
trajectory, one row for the space-filling designs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from loops.params import ConfigError
from loops.registry import Registry


@dataclass(frozen=True)
class Method:
    """A design method.

    Attributes
    ----------
    sample
        ``(n, d, seed) -> (runs, d)`` rows in the unit cube.
    block
        Rows per block for ``d`` parameters (an analysis needs whole blocks).
    power_of_two
        ``n`` must be a power of two (Sobol' sequences balance only then).
    indices
        What the analysis gives: ``sobol`` (``S1``, ``ST``), ``morris``
        (``mu_star``, ``sigma``) or ``""`` (scenario discovery only).
    """

    sample: Callable[[int, int, int], np.ndarray]
    block: Callable[[int], int]
    power_of_two: bool
    indices: str


METHODS: Registry[Method] = Registry("design method")


def _unit_problem(d: int) -> dict[str, object]:
    """Return SALib's problem of ``d`` parameters on the unit cube (values are mapped afterwards)."""
    return {"num_vars": d, "names": [f"x{i}" for i in range(d)], "bounds": [[0.0, 1.0]] * d}


def _saltelli(n: int, d: int, seed: int) -> np.ndarray:
    from SALib.sample import sobol

    rows: np.ndarray = sobol.sample(_unit_problem(d), n, calc_second_order=False, scramble=True, seed=seed)
    return rows


def _morris(n: int, d: int, seed: int) -> np.ndarray:
    from SALib.sample import morris

    rows: np.ndarray = morris.sample(_unit_problem(d), n, num_levels=4, seed=seed)
    return rows


def _sobol(n: int, d: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    rows: np.ndarray = qmc.Sobol(d, scramble=True, seed=np.random.default_rng(seed)).random(n)
    return rows


def _lhs(n: int, d: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    rows: np.ndarray = qmc.LatinHypercube(d, seed=np.random.default_rng(seed)).random(n)
    return rows


METHODS.register("saltelli")(Method(_saltelli, lambda d: d + 2, True, "sobol"))
METHODS.register("morris")(Method(_morris, lambda d: d + 1, False, "morris"))
METHODS.register("lhs")(Method(_lhs, lambda d: 1, False, ""))
METHODS.register("sobol")(Method(_sobol, lambda d: 1, True, ""))

#: Largest design size accepted (a design's rows are all jobs; past this it is surely a typo).
MAX_N = 1 << 20


def check(method: str, n: int, seed: int) -> Method:
    """Return the method named ``method`` after checking ``n`` and ``seed``.

    Raises
    ------
    ConfigError
        Naming ``hydra.sweeper.method``, ``hydra.sweeper.n`` or ``hydra.sweeper.seed``
        and what is allowed.
    """
    if method not in METHODS:
        raise ConfigError(f"hydra.sweeper.method={method!r} is unknown; known: {METHODS.names()}")
    chosen = METHODS.get(method)
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= MAX_N:
        raise ConfigError(f"hydra.sweeper.n={n!r} is out of range; allowed: an integer in [2, {MAX_N}]")
    if chosen.power_of_two and n & (n - 1):
        below = 1 << (n.bit_length() - 1)
        raise ConfigError(f"hydra.sweeper.n={n} is not a power of two; {method} needs one "
                          f"(e.g. {below} or {below * 2}): Sobol' points balance only at powers of two")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ConfigError(f"hydra.sweeper.seed={seed!r} is out of range; allowed: an integer in [0, 2**32)")
    return chosen


def sample(method: str, n: int, d: int, seed: int) -> np.ndarray:
    """Return the rows of a design in the unit cube.

    Parameters
    ----------
    method
        A name in :data:`METHODS`.
    n
        The design's size (see ``harness.design.config.DesignSweeperConf``).
    d
        Number of parameters.
    seed
        The design's seed.

    Returns
    -------
    numpy.ndarray
        ``(runs, d)`` float64 in [0, 1]: ``n (d + 2)`` rows for ``saltelli``,
        ``n (d + 1)`` for ``morris``, ``n`` for ``lhs`` and ``sobol``.

    Examples
    --------
    >>> sample("saltelli", 4, 2, seed=0).shape
    (16, 2)
    """
    chosen = check(method, n, seed)
    rows = np.asarray(chosen.sample(n, d, seed), dtype=np.float64)
    if rows.shape != (n * chosen.block(d), d):  # a library changing its layout would misplace every block
        raise RuntimeError(f"{method} design has shape {rows.shape}; expected {(n * chosen.block(d), d)}")
    return rows
