"""What a variant is: the design parameters that differ between runs, never the replicates.

A sweep's runs carry one coordinate per swept or overridden parameter. Some of
them only replicate a design (the run seed ``run.seed``, and any key the user
names with ``takeoff-report --replicate KEY``): their runs pool into one
variant and never become a figure's axis. The others are the design's
*factors*. A factor with more than :data:`MAX_LEVELS` distinct values (a sampled
design gives every run its own values) is binned into :data:`QUANTILE_BINS`
quantile bins, so a variant pools runs with similar values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Keys that replicate a run rather than vary it: they pool into the variant.
REPLICATES = ("run.seed", "seed")
#: Keys that size or place a run (not a design choice): never part of a variant.
SIZES = ("seeds", "cycles", "store", "engine", "record.every")
#: The digest of the model's code a run was computed with (``results.open_sweep``'s
#: coordinate): never a design choice, but runs of different model code are never
#: pooled: where it differs, it is the first factor and the report says so.
MODEL = "model_digest"
#: A factor with more distinct values than this is binned into quantiles.
MAX_LEVELS = 12
#: Quantile bins of a binned factor.
QUANTILE_BINS = 4
#: Figures draw at most this many variants (the ones that differ most).
MAX_SHOWN = 30


@dataclass(frozen=True)
class Design:
    """The variants of a sweep.

    Attributes
    ----------
    factors
        Parameters that differ between runs and define the variants, in order.
    binned
        Factors binned into quantiles, with the number of bins.
    replicates
        Replicate keys that vary between runs (pooled into each variant).
    models
        The distinct model digests of the runs (more than one: runs of different
        model code, kept apart as variants).
    fixed
        Overridden parameters with one value in every run.
    runs
        One row per run (index ``run_id``): the level of each factor (ordered
        categoricals; a binned factor's level is its interval) and ``variant``.
    variants
        The variant labels, in the factors' order.
    """

    factors: list[str]
    binned: dict[str, int]
    replicates: list[str]
    fixed: dict[str, Any]
    runs: pd.DataFrame
    variants: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    def label(self, run_id: str) -> str:
        """Return the variant of run ``run_id``."""
        return str(self.runs.at[run_id, "variant"])

    def describe(self) -> str:
        """Return one sentence on what makes a variant (for the report's first lines)."""
        parts = [f"{len(self.variants)} variant{'s' if len(self.variants) != 1 else ''}"]
        if self.factors:
            parts.append("over " + ", ".join(short(f) for f in self.factors))
        if self.binned:
            parts.append(
                "binned into quantiles: "
                + ", ".join(f"{short(f)} ({n} bins)" for f, n in self.binned.items())
            )
        if self.replicates:
            parts.append("replicates pooled into each variant: " + ", ".join(self.replicates))
        text = "; ".join(parts) + "."
        if len(self.models) > 1:
            text += (
                f" The store holds runs of {len(self.models)} versions of the model's code "
                f"({MODEL} {', '.join(self.models)}): they are kept apart as variants, never pooled."
            )
        return text


def short(key: str) -> str:
    """Return a parameter's short name for labels (``loop.`` and ``.enabled`` dropped).

    Examples
    --------
    >>> short("loop.guard.mode"), short("loop.evaluate.enabled")
    ('guard.mode', 'evaluate')
    """
    return key.removeprefix("loop.").removesuffix(".enabled")


def _format(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    return str(value)


def _levels(values: pd.Series) -> tuple[pd.Series, int]:
    """Return the levels of one factor (ordered) and its number of quantile bins (0: not binned)."""
    distinct = pd.unique(values)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and len(distinct) > MAX_LEVELS:
        binned = pd.qcut(values.astype(float), QUANTILE_BINS, duplicates="drop")
        # Name a bin by the smallest and largest value it holds (qcut's edges are padded).
        spans = values.astype(float).groupby(binned, observed=True).agg(["min", "max"])
        names = {iv: f"{_format(spans.at[iv, 'min'])}–{_format(spans.at[iv, 'max'])}" for iv in spans.index}
        order = [names[iv] for iv in binned.cat.categories if iv in names]
        labels = binned.map(names).astype(pd.CategoricalDtype(order, ordered=True))
        return labels, len(order)
    try:
        order = sorted(distinct)
    except TypeError:
        order = list(distinct)
    text = [_format(v) for v in order]
    mapping = dict(zip(order, text, strict=True))
    return values.map(mapping).astype(pd.CategoricalDtype(list(dict.fromkeys(text)), ordered=True)), 0


def design(
    parameters: pd.DataFrame,
    *,
    replicates: Iterable[str] = (),
    guard_modes: Mapping[str, Any] | None = None,
) -> Design:
    """Return the variants of a sweep from its runs' parameter values.

    Parameters
    ----------
    parameters
        One row per run (index ``run_id``), one column per run parameter
        coordinate of the store.
    replicates
        Further keys that replicate rather than vary a run (``--replicate``).
    guard_modes
        Each run's ``loop.guard.mode`` (from its config): a sweep with a single
        variant is labelled with it, so a one-run report shows its guard.

    Returns
    -------
    Design

    Examples
    --------
    >>> p = pd.DataFrame({"loop.guard.mode": ["none", "in_loop"] * 2, "run.seed": [0, 0, 1, 1]},
    ...                  index=["a", "b", "c", "d"])
    >>> design(p).runs["variant"].tolist()
    ['guard.mode=none', 'guard.mode=in_loop', 'guard.mode=none', 'guard.mode=in_loop']

    Runs of two versions of the model's code are never pooled:

    >>> p["model_digest"] = ["aa", "aa", "bb", "bb"]
    >>> design(p).runs["variant"].tolist()[1:3]
    ['model_digest=aa, guard.mode=in_loop', 'model_digest=bb, guard.mode=none']
    """
    pooled = set(REPLICATES) | set(replicates)
    varying = {c: parameters[c].astype(str).nunique() > 1 for c in parameters.columns}
    factors = [c for c in parameters.columns if c not in pooled and c not in SIZES and varying[c]]
    if MODEL in factors:  # first, so a figure's variants of one model version sit together
        factors = [MODEL] + [f for f in factors if f != MODEL]
    models = sorted({str(m) for m in parameters[MODEL]}) if MODEL in parameters.columns else []
    fixed = {
        c: parameters[c].iat[0]
        for c in parameters.columns
        if c not in pooled and c not in SIZES and c != MODEL and not varying[c] and len(parameters)
    }
    runs = pd.DataFrame(index=parameters.index)
    binned: dict[str, int] = {}
    for factor in factors:
        runs[factor], bins = _levels(parameters[factor])
        if bins:
            binned[factor] = bins
    if factors:
        labels = (
            runs[factors]
            .astype(str)
            .apply(lambda row: ", ".join(f"{short(f)}={row[f]}" for f in factors), axis=1)
        )
        order = runs.sort_values(factors).index
    else:
        # One variant: name it by what was chosen, so a one-run report shows its guard.
        parts = [f"{short(k)}={_format(v)}" for k, v in fixed.items()]
        modes = {str(m) for m in (guard_modes or {}).values()}
        if "loop.guard.mode" not in fixed and len(modes) == 1:
            parts.append(f"guard.mode={modes.pop()}")
        labels = pd.Series(", ".join(parts) or "all runs", index=parameters.index)
        order = parameters.index
    runs["variant"] = labels
    variants = list(dict.fromkeys(labels.loc[order]))
    return Design(
        factors=factors,
        binned=binned,
        replicates=[c for c in parameters.columns if c in pooled and varying[c]],
        fixed=fixed,
        runs=runs,
        variants=variants,
        models=models,
    )


def most_different(features: pd.DataFrame, n: int = MAX_SHOWN) -> list[str]:
    """Return the ``n`` rows of ``features`` that differ most (farthest-point order).

    Each column is scaled to unit spread; the first pick is the row farthest
    from the mean, and each next one the row farthest from all picked so far.

    Parameters
    ----------
    features
        One row per variant (index: label), numeric outcome columns.
    n
        How many to keep.

    Returns
    -------
    list of str
        The kept labels, in ``features``' order.

    Examples
    --------
    >>> f = pd.DataFrame({"x": [0.0, 0.1, 5.0, 10.0]}, index=list("abcd"))
    >>> most_different(f, 2)
    ['a', 'd']
    """
    if len(features) <= n:
        return list(features.index)
    x = features.astype(float).to_numpy()
    x = np.where(np.isfinite(x), x, np.nanmean(np.where(np.isfinite(x), x, np.nan), axis=0))
    x = np.nan_to_num(x)
    spread = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    picked = [int(np.argmax((x**2).sum(axis=1)))]
    distance = ((x - x[picked[0]]) ** 2).sum(axis=1)
    distance[picked] = -1.0
    while len(picked) < n:
        nxt = int(np.argmax(distance))
        if distance[nxt] <= 0:
            # The rest repeat a picked row: keep them in their order.
            nxt = next(i for i in range(len(x)) if i not in picked)
        picked.append(nxt)
        distance = np.minimum(distance, ((x - x[nxt]) ** 2).sum(axis=1))
        distance[picked] = -1.0
    keep = set(picked)
    return [label for i, label in enumerate(features.index) if i in keep]
