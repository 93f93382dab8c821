"""Twin of ``loops.driver.allocate_compute``: each server's compute shared among its instances."""

from __future__ import annotations

import numpy as np

from loops.compiled._jit import jit
from loops.config import WorldConfig
from loops.state import Population


@jit
def _allocate(alive: np.ndarray, functional: np.ndarray, diverged: np.ndarray, home: np.ndarray,
              share: np.ndarray, compute_home: float, compute_external: float) -> None:
    n_seeds, n_slots = alive.shape
    for s in range(n_seeds):
        if diverged[s]:
            continue
        on_home = 0
        on_ext = 0
        for i in range(n_slots):
            if alive[s, i] and functional[s, i]:
                if home[i]:
                    on_home += 1
                else:
                    on_ext += 1
        # np.minimum(1.0, c / np.maximum(n, 1)): 1.0 unless the quotient is smaller
        h: float = compute_home / np.float64(max(on_home, 1))
        h = 1.0 if 1.0 <= h else h
        e: float = compute_external / np.float64(max(on_ext, 1))
        e = 1.0 if 1.0 <= e else e
        for i in range(n_slots):
            share[s, i] = h if home[i] else e


def allocate_compute(state: Population, world: WorldConfig) -> None:
    """Give each working instance its server's fraction of a cycle (in place)."""
    cap = world.capacity
    _allocate(state.alive, state.functional, state.diverged, state.home, state.share,
              float(cap.compute_home), float(cap.compute_external))
