"""The draw interface stages use (see ``loops.random.StageDraws``)."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray


class StageDrawsLike(Protocol):
    """Random draws of one stage in one cycle, addressed by draw number."""

    def uniform(self, draw: int) -> NDArray[np.float64]:
        """``(seed, slot)`` uniforms in [0, 1)."""
        ...

    def normal(self, draw: int) -> NDArray[np.float64]:
        """``(seed, slot)`` standard normals for draw number ``draw``."""
        ...

    def normals(self, draw: int, n: int) -> NDArray[np.float64]:
        """``(seed, slot, n)`` standard normals on draws ``draw .. draw + n - 1``."""
        ...

    def uniform_at(self, draw: int, seed: NDArray[np.intp], slot: NDArray[np.intp]) -> NDArray[np.float64]:
        """Return uniforms at given points."""
        ...

    def normal_at(self, draw: int, seed: NDArray[np.intp], slot: NDArray[np.intp]) -> NDArray[np.float64]:
        """Return normals at given points."""
        ...
