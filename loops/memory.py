"""How much memory a run needs, estimated before anything is allocated.

A run holds its population (``seeds x slots`` arrays, ``bytes_per_slot`` each
slot, counted from the arrays :func:`loops.state.initial_population` makes)
and its record (``seeds x kept cycles`` float32 values per recorded field).
The numpy stages make temporaries about the size of the population, and the
harness copies the record once into the dataset it writes, so both count
twice. :func:`check` refuses a run whose estimate exceeds the memory this
machine has available, before it allocates.

Examples
--------
>>> from loops.config import WorldConfig
>>> need = estimate(WorldConfig(), seeds=16, cycles=200, record_every=1, domains=3)
>>> 0 < need.total < 10**8
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from loops.config import WorldConfig
from loops.params import ConfigError
from loops.record import DOMAIN_FIELDS, EVENT_FIELDS, STATE_FIELDS

#: Copies counted: the population and the numpy stages' temporaries; the record and the dataset.
COPIES = 2


@dataclass(frozen=True)
class Need:
    """A run's memory estimate, in bytes, and what it is made of."""

    seeds: int
    slots: int
    bytes_per_slot: float
    kept_cycles: int
    bytes_per_record: int

    @property
    def state(self) -> float:
        """Population and temporaries: ``COPIES x seeds x slots x bytes_per_slot``."""
        return COPIES * self.seeds * self.slots * self.bytes_per_slot

    @property
    def records(self) -> float:
        """Record and its copy: ``COPIES x seeds x kept cycles x bytes_per_record``."""
        return COPIES * self.seeds * self.kept_cycles * self.bytes_per_record

    @property
    def total(self) -> float:
        """Everything, in bytes."""
        return self.state + self.records


def bytes_per_slot(world: WorldConfig, domains: int) -> float:
    """Return the population's bytes per instance slot (per-world arrays shared out over slots)."""
    from loops.state import initial_population

    one = initial_population(world, 1, domains)
    total = sum(int(value.nbytes) for value in vars(one).values() if hasattr(value, "nbytes"))
    return total / (world.capacity.home + world.capacity.external)


def estimate(world: WorldConfig, *, seeds: int, cycles: int, record_every: int, domains: int) -> Need:
    """Return the memory a run of ``seeds`` worlds over ``cycles`` cycles needs (no allocation)."""
    kept = -(-cycles // record_every)
    per_record = 4 * (len(DOMAIN_FIELDS) * domains + len(STATE_FIELDS) + len(EVENT_FIELDS))
    return Need(seeds, world.capacity.home + world.capacity.external, bytes_per_slot(world, domains),
                kept, per_record)


def available() -> int:
    """Return the memory this machine has available now, in bytes (psutil, else sysconf)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def size(n: float) -> str:
    """Return ``n`` bytes in the largest fitting binary unit (``'1.5 GiB'``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    raise AssertionError("unreachable")


def check(world: WorldConfig, *, seeds: int, cycles: int, record_every: int, domains: int) -> Need:
    """Return the estimate, or fail when it exceeds this machine's available memory.

    Raises
    ------
    ConfigError
        With the estimate, its parts and the memory available.
    """
    need = estimate(world, seeds=seeds, cycles=cycles, record_every=record_every, domains=domains)
    free = available()
    if need.total > free:
        raise ConfigError(
            f"seeds={seeds} cycles={cycles} record.every={record_every} need about {size(need.total)} "
            f"({need.seeds} seeds x {need.slots} slots x {need.bytes_per_slot:.0f} B, plus "
            f"{need.kept_cycles} recorded cycles x {need.bytes_per_record} B per seed, each twice) but this "
            f"machine has {size(free)} available; lower seeds or cycles, or raise record.every")
    return need
