"""Which implementation runs the cycle: the compiled kernel or the numpy stages.

Both give the same bits (``tests/loops/compiled``); the compiled one is about
eight times faster and needs numba. ``auto`` takes numba when it imports and
falls back to numpy with a warning otherwise. The choice is the run config's
``engine`` key; it does not change a run's results, so it is not part of the
run's identity.

A compiled twin whose sources changed since it was last checked against its
numpy original (:mod:`loops.twins`) is never run: ``auto`` runs the numpy
stages, with one warning naming what changed, and ``numba`` fails with a
:class:`ConfigError` saying what to do.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loops.config import WorldConfig
from loops.params import ConfigError
from loops.recorder import Recorder
from loops.stage import Stage
from loops.state import Population

log = logging.getLogger(__name__)

#: The allowed values of the ``engine`` config key.
ENGINES = ("auto", "numba", "numpy")


@dataclass(frozen=True)
class Engine:
    """The functions one engine runs a cycle with.

    Attributes
    ----------
    name
        ``"numba"`` or ``"numpy"``.
    stages
        Stage name -> ``run(state, cfg, draws, env) -> Events``.
    allocate
        ``allocate(state, world)``: share each server's compute (in place).
    observe
        ``observe(recorder, state, cycle)``: mark divergence and record a cycle.
    """

    name: str
    stages: dict[str, Callable[..., Any]]
    allocate: Callable[[Population, WorldConfig], None]
    observe: Callable[[Recorder, Population, int], None]

    def run(self, stage: Stage) -> Callable[..., Any]:
        """Return this engine's implementation of ``stage``."""
        return self.stages.get(stage.name, stage.run)


def numba_installed() -> bool:
    """Return True if numba can be found (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def check_engine(name: str) -> None:
    """Fail with a :class:`ConfigError` naming the key if ``engine`` cannot be used.

    Under ``auto``, warn (once per process) when a compiled twin is stale.
    """
    if name not in ENGINES:
        raise ConfigError(f"engine={name!r} is unknown; allowed: {list(ENGINES)}")
    if name == "numba" and not numba_installed():
        raise ConfigError("engine='numba' but numba is not installed; "
                          "pip install numba, or set engine=numpy (same results, slower)")
    from loops import twins  # here, so that ``python -m loops.twins`` runs it first

    if name != "numpy" and twins.stale():
        if name == "numba":
            raise ConfigError(f"engine='numba' but {twins.explain(twins.stale())}; {twins.RENEW}; "
                              f"or set engine=auto or engine=numpy to run the numpy stages")
        _warn_stale()


@functools.cache
def _warn_stale() -> None:
    from loops import twins

    log.warning("engine=auto runs the numpy stages (about eight times slower): %s; to compile again, %s",
                twins.explain(twins.stale()), twins.RENEW)


@functools.cache
def select(name: str = "auto") -> Engine:
    """Return the engine ``name`` (``auto``: numba if it imports, else numpy).

    Examples
    --------
    >>> select("numpy").name
    'numpy'
    """
    from loops import twins

    check_engine(name)
    if name != "numpy" and not twins.stale():
        try:
            return _compiled()
        except ImportError as err:
            if name == "numba":
                raise
            log.warning("numba is unavailable (%s): running the numpy stages, about eight times slower", err)
    return _numpy()


def _numpy() -> Engine:
    from loops.driver import allocate_compute

    return Engine("numpy", {}, allocate_compute, Recorder.observe)


def _compiled() -> Engine:
    import loops.compiled as compiled

    stages = {name: compiled.KERNELS.get(name) for name in compiled.KERNELS.names()}
    return Engine("numba", stages, compiled.allocate_compute, compiled.observe)
