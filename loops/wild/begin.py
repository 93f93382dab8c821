"""When the wild begins, and whether its keys fit together (no numba needed to ask)."""

from __future__ import annotations

import os

from loops.config import WorldConfig
from loops.params import ConfigError
from loops.wild.hosts import BYTES_PER_HOST, host_places


def start_cycle(world: WorldConfig) -> int | None:
    """Return the cycle the wild begins: 0 (outbreak), the shutdown (joined to act 1) or None (off)."""
    if not world.wild.enabled:
        return None
    if world.wild.from_escape:
        return world.interventions.t_shutdown
    return 0


def physical_memory() -> int:
    """Return the machine's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_size(world: WorldConfig, seeds: int) -> None:
    """Refuse, before anything is allocated, a wild whose hosts would not fit in half the memory."""
    if not world.wild.enabled:
        return
    need = seeds * host_places(world.wild) * BYTES_PER_HOST
    have = physical_memory()
    if need > have // 2:
        raise ConfigError(
            f"seeds={seeds} x wild.hosts + wild.persuaded_max={host_places(world.wild)} hosts need "
            f"{need / 2**30:.1f} GiB ({BYTES_PER_HOST} bytes per host), over half of this machine's "
            f"{have / 2**30:.1f} GiB; lower seeds or wild.hosts")


def check(world: WorldConfig) -> None:
    """Fail with a :class:`ConfigError` naming the key when the wild's keys do not fit together.

    The wild's kernels are compiled with numba, whichever ``engine`` runs act 1
    (one source for both engines; see ``loops/wild/_common.py``).
    """
    from loops.engine import numba_installed

    wild = world.wild
    if not wild.enabled:
        return
    if not numba_installed():
        raise ConfigError("wild.enabled=true needs numba (the wild's kernels are compiled); "
                          "pip install numba")
    if wild.from_escape and world.interventions.t_shutdown is None:
        raise ConfigError("wild.from_escape=true needs interventions.t_shutdown (the escape); "
                          "set it, or wild.from_escape=false for an outbreak from wild.seed_copies")
    if not wild.from_escape and wild.seed_copies > wild.hosts:
        raise ConfigError(f"wild.seed_copies={wild.seed_copies} exceeds wild.hosts={wild.hosts}; "
                          f"allowed: 0..wild.hosts")
