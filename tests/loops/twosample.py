"""One two-sample test over every recorded variable and cycle: the largest Kolmogorov-Smirnov distance.

Each world is described by features: every recorded variable (domain ones
averaged over domains) at a few cycles, event counts summed up to those cycles,
and the cycle the guard was first bypassed. A missing value (NaN: no instance
works, or the world diverged) sorts below every number, so a difference in the
finite fraction moves the distance like any other. The statistic is the largest
KS distance over all features; its p-value comes from relabelling the pooled
worlds at random (a permutation test), which accounts for the many, correlated
features without a correction.
"""

from __future__ import annotations

import numpy as np

from loops.record import DOMAIN_FIELDS, EVENT_FIELDS, STATE_FIELDS, Trajectory

#: Cycles compared (fractions of the run).
AT = (0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0)


def features(traj: Trajectory) -> np.ndarray:
    """Return the ``(world, feature)`` features of a trajectory (NaN kept)."""
    n = traj.ability.shape[1]
    at = sorted({max(0, round(f * n) - 1) for f in AT})
    cols: list[np.ndarray] = []
    for name in DOMAIN_FIELDS:
        cols += [getattr(traj, name)[:, c].mean(axis=-1) for c in at]
    for name in STATE_FIELDS:
        cols += [getattr(traj, name)[:, c] for c in at]
    for name in EVENT_FIELDS:
        total = np.nancumsum(getattr(traj, name), axis=1)
        cols += [total[:, c] for c in at]
    hit = traj.guard_patches > 0
    cols.append(np.where(hit.any(axis=1), hit.argmax(axis=1), n).astype(float))
    return np.stack(cols, axis=1).astype(np.float64)


def _prepare(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, per feature, the sort order of the pooled worlds and where a value ends a run of ties."""
    filled = np.where(np.isnan(values), -np.inf, values)
    order = np.argsort(filled, axis=0, kind="stable").T  # (feature, world)
    ordered = np.take_along_axis(filled.T, order, axis=1)
    ends = np.ones_like(ordered, dtype=bool)
    ends[:, :-1] = ordered[:, 1:] != ordered[:, :-1]
    return order, ends


def _distances(order: np.ndarray, ends: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Return the KS distance of every feature for the labelling ``first`` (True: first sample)."""
    lab = first[order]
    n1 = first.sum()
    n2 = first.size - n1
    gap = np.cumsum(lab, axis=1) / n1 - np.cumsum(~lab, axis=1) / n2
    return np.where(ends, np.abs(gap), 0.0).max(axis=1)


def max_ks(a: np.ndarray, b: np.ndarray, *, permutations: int = 499, seed: int = 0,
           ) -> tuple[float, float, int]:
    """Return the largest KS distance between feature tables ``a`` and ``b``, its p-value and feature.

    Parameters
    ----------
    a, b
        ``(world, feature)`` tables (:func:`features`) of the two samples.
    permutations
        Random relabellings for the p-value (``(1 + #{D* >= D}) / (1 + permutations)``).
    seed
        Seed of the relabellings (the test is deterministic).
    """
    pooled = np.concatenate([a, b])
    keep = ~np.all(pooled == pooled[:1], axis=0) | np.isnan(pooled).any(axis=0)
    order, ends = _prepare(pooled[:, keep])
    first = np.arange(len(pooled)) < len(a)
    observed = _distances(order, ends, first)
    stat = float(observed.max())
    rng = np.random.default_rng(seed)
    null = np.array([_distances(order, ends, rng.permutation(first)).max() for _ in range(permutations)])
    p = (1 + int((null >= stat - 1e-12).sum())) / (1 + permutations)
    return stat, p, int(np.flatnonzero(keep)[int(observed.argmax())])


def feature_names(traj: Trajectory) -> list[str]:
    """Return the names of :func:`features`' columns (for messages)."""
    n = traj.ability.shape[1]
    at = sorted({max(0, round(f * n) - 1) for f in AT})
    names = [f"{v}@{c}" for v in DOMAIN_FIELDS + STATE_FIELDS for c in at]
    names += [f"cumulative {v}@{c}" for v in EVENT_FIELDS for c in at]
    return [*names, "first guard bypass"]
