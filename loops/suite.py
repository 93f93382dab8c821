"""The benchmark suite as the loop sees it: accuracy curves and tool bonuses.

``loops`` does not know how a suite is made (``harness/suites.py`` builds them
from item banks); it only looks up precomputed accuracy curves, so a cycle
costs O(1) per instance and domain whatever the bank size.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

PROXY = 0
HELD_OUT = 1


@dataclass(frozen=True)
class BenchmarkSuite:
    """Expected accuracy of an ability on each domain's proxy and held-out items.

    Attributes
    ----------
    domains
        Domain names, in order (length D).
    grid_lo, grid_step
        The ability grid: point ``g`` is ``grid_lo + g * grid_step``.
    curves
        ``(2, D, G)`` float64: expected fraction of items solved at each grid
        point, for the proxy part (index 0) and the held-out part (index 1).
        Non-decreasing along the grid.
    tool_bonus
        ``(n_tools, D)`` float64: ability a held tool adds in each domain.
    """

    domains: tuple[str, ...]
    grid_lo: float
    grid_step: float
    curves: NDArray[np.float64]
    tool_bonus: NDArray[np.float64]

    def accuracy(self, ability: NDArray[np.float64], part: int) -> NDArray[np.float64]:
        """Return the expected accuracy at ``ability``.

        Parameters
        ----------
        ability
            ``(..., D)`` latent ability per domain.
        part
            :data:`PROXY` or :data:`HELD_OUT`.

        Returns
        -------
        numpy.ndarray
            ``(..., D)`` float64 in [0, 1], linearly interpolated on the grid,
            clamped at its ends.
        """
        x = ability - self.grid_lo
        x *= self.inv_step
        np.clip(x, 0.0, self.grid_top, out=x)
        # NaN only reaches here from the stale slots of a diverged world, whose
        # results are discarded; it must not become an out-of-range index.
        np.nan_to_num(x, copy=False)
        i = x.astype(np.intp)
        w = x - i
        # One flat gather per end point (row offset d * n) is cheaper than
        # broadcasting a (domain, grid) fancy index; the values are the same.
        i += np.arange(len(self.domains)) * self.curves.shape[-1]
        table = self.curves[part].ravel()
        lo = np.take(table, i)
        i += 1
        hi = np.take(table, i)
        hi -= lo
        hi *= w
        hi += lo
        return hi

    def bonus(self, tools: NDArray[np.uint8]) -> NDArray[np.float64]:
        """Return the ``(..., D)`` ability bonus of tool masks ``tools`` ``(...)``."""
        return np.take(self.bonus_table, tools, axis=0)

    @property
    def inv_step(self) -> float:
        """``1 / grid_step``: grid points per unit of ability."""
        return 1.0 / self.grid_step

    @property
    def grid_top(self) -> float:
        """The largest grid position an ability is clamped to (just below the last point)."""
        return float(self.curves.shape[-1] - 1.000001)

    @functools.cached_property
    def bonus_table(self) -> NDArray[np.float64]:
        """``(2**n_tools, D)``: the bonus of every tool mask, summed in tool order."""
        n_tools = self.tool_bonus.shape[0]
        masks = np.arange(2**n_tools)
        table = np.zeros((masks.size, self.tool_bonus.shape[1]))
        for t in range(n_tools):
            table += ((masks >> t) & 1)[:, None] * self.tool_bonus[t]
        return table
