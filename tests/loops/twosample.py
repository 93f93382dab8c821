"""Two-sample tests of simulated worlds, each one combined statistic with a permutation p-value.

:func:`max_ks`: the largest Kolmogorov-Smirnov distance over every recorded
variable at a few cycles (distributions). :func:`max_t`: the largest Welch
t statistic over per-world summaries (means, dispersions and finite
fractions), which has the power the first lacks against a small shift in one
mechanism (see ``tests/loops/test_reference.py``).

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

import warnings

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


def summaries(traj: Trajectory) -> tuple[np.ndarray, list[str]]:
    """Return ``(world, summary)`` per-world summaries that each mechanism moves (NaN kept), and their names.

    Per domain-averaged variable: the last value, the mean over cycles, the spread of
    its cycle-to-cycle changes (the proposals' ``sigma``) and the share of cycles it
    is finite; the best instance's lead over the mean (copy mutation); per state
    variable the last value and the mean; per event count the total and the first
    half's total; the cycle of the first guard bypass (the run's length if none).
    """
    cols: dict[str, np.ndarray] = {}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN worlds give NaN, kept as such
        for name in DOMAIN_FIELDS:
            v = getattr(traj, name).mean(axis=-1)
            cols[f"{name} last"], cols[f"{name} mean"] = v[:, -1], np.nanmean(v, axis=1)
            cols[f"{name} step spread"] = np.nanstd(np.diff(v, axis=1), axis=1)
            cols[f"{name} finite share"] = np.isfinite(v).mean(axis=1)
        lead = (traj.ability_max - traj.ability).mean(axis=-1)
        cols["best instance's lead mean"] = np.nanmean(lead, axis=1)
        cols["best instance's lead last"] = lead[:, -1]
        for name in STATE_FIELDS:
            v = getattr(traj, name).astype(np.float64)
            cols[f"{name} last"], cols[f"{name} mean"] = v[:, -1], np.nanmean(v, axis=1)
        for name in EVENT_FIELDS:
            v = getattr(traj, name).astype(np.float64)
            cols[f"{name} total"] = np.nansum(v, axis=1)
            cols[f"{name} first half"] = np.nansum(v[:, : v.shape[1] // 2], axis=1)
    hit = traj.guard_patches > 0
    cols["first guard bypass"] = np.where(hit.any(axis=1), hit.argmax(axis=1), traj.ability.shape[1])
    return np.stack(list(cols.values()), axis=1).astype(np.float64), list(cols)


def _welch(x: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Return ``|t|`` of Welch's test per column of ``x`` for each labelling (row of ``first``).

    Counts, sums and sums of squares of each side are matrix products of the labels
    with the (centred, NaN as 0) values, so every labelling costs one product.
    """
    finite = np.isfinite(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.where(finite.any(axis=0), np.nanmean(x, axis=0), 0.0)
    v = np.where(finite, x - centre, 0.0)
    f = finite.astype(np.float64)
    sides = []
    for lab in (first.astype(np.float64), (~first).astype(np.float64)):
        n = lab @ f
        mean = (lab @ v) / np.maximum(n, 1)
        var = ((lab @ v**2) - n * mean**2) / np.maximum(n - 1, 1)
        sides.append((n, mean, np.maximum(var, 0.0)))
    (na, ma, va), (nb, mb, vb) = sides
    gap = np.abs(ma - mb)
    with np.errstate(all="ignore"):
        t = gap / np.sqrt(va / np.maximum(na, 1) + vb / np.maximum(nb, 1))
    # Two constant sides: any difference is certain (a huge t), none is nothing.
    t = np.where(va + vb > 0, t, np.where(gap > 1e-9 * (1 + np.abs(ma)), 1e12, 0.0))
    return np.where(np.isfinite(t) & (na > 1) & (nb > 1), t, 0.0)


def max_t(a: np.ndarray, b: np.ndarray, *, permutations: int = 199, seed: int = 0,
          ) -> tuple[float, float, int]:
    """Return the largest Welch ``|t|`` between summary tables ``a`` and ``b``, its p-value and column.

    Three families of columns are compared at once: each summary's finite values
    (location), their distance from the pooled median (dispersion,
    Brown-Forsythe), and whether it is finite (the finite fraction). The p-value
    relabels the pooled worlds at random, so the many correlated columns need no
    correction. The column index counts location columns first, then dispersion,
    then finiteness (``index % n_summaries`` names the summary).
    """
    pooled = np.concatenate([a, b])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(pooled, axis=0)
    x = np.concatenate([pooled, np.abs(pooled - median), np.isfinite(pooled).astype(np.float64)], axis=1)
    first = np.arange(len(pooled)) < len(a)
    observed = _welch(x, first[None])[0]
    stat = float(observed.max())
    rng = np.random.default_rng(seed)
    null = _welch(x, np.array([rng.permutation(first) for _ in range(permutations)])).max(axis=1)
    p = (1 + int((null >= stat - 1e-12).sum())) / (1 + permutations)
    return stat, p, int(observed.argmax())
