"""Sweep-level tables: Kaplan–Meier with Greenwood bands and medians, variants, phase diagrams."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.sweep import median_time, phase_tables, survival_curve, variant_table
from analysis.variants import MAX_LEVELS, design, most_different


def test_kaplan_meier_known_answer() -> None:
    # Bypass at 5 and 10, censored at 10 and 20: S = 1, 3/4 after 5, 3/4 * 2/3 after 10.
    km = survival_curve(np.array([5.0, 10.0, 10.0, 20.0]), np.array([True, True, False, False]))
    assert km["cycle"].tolist() == [0.0, 5.0, 10.0, 20.0]
    np.testing.assert_allclose(km["survival"], [1.0, 0.75, 0.5, 0.5])


def test_greenwood_band_known_answer() -> None:
    # Greenwood: var(log S) at t=5 is d/(n(n-d)) = 1/(4*3); log-log band exp(-exp(log(-log S) +- z se)).
    km = survival_curve(np.array([5.0, 10.0, 10.0, 20.0]), np.array([True, True, False, False]))
    s, z = 0.75, 1.959963984540054
    se = math.sqrt(1 / 12) / abs(math.log(s))
    low, high = s ** math.exp(z * se), s ** math.exp(-z * se)
    np.testing.assert_allclose(km.loc[1, ["low", "high"]].to_numpy(float), [low, high], rtol=1e-9)
    assert (km["low"] <= km["survival"]).all() and (km["survival"] <= km["high"]).all()


def test_median_is_censored_at_the_run_end_not_shortened() -> None:
    # 10 worlds, guard falls at 10..50 in five, the rest hold to the end at 100 or 60.
    falls = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    for end in (100.0, 60.0):
        times = np.concatenate([falls, np.full(5, end)])
        observed = np.arange(10) < 5
        median, low, high = median_time(survival_curve(times, observed))
        # Half the worlds fell by 50 whatever the run's length; the median among the
        # fallen only (30) would move with the cut.
        assert median == 50.0, (end, median)
        assert low <= median and (math.isnan(high) or high >= median)


def test_median_not_reached_is_nan() -> None:
    median, _, _ = median_time(survival_curve(np.array([5.0, 30.0, 30.0]), np.array([True, False, False])))
    assert math.isnan(median)


def test_no_event_stays_at_one() -> None:
    km = survival_curve(np.array([30.0, 30.0]), np.array([False, False]))
    assert km["survival"].tolist() == [1.0, 1.0] and km["cycle"].tolist() == [0.0, 30.0]


def _worlds(guard: str, bypass: list[float]) -> pd.DataFrame:
    n = len(bypass)
    return pd.DataFrame(
        {
            "run_id": ["r"] * n,
            "variant": [guard] * n,
            "guard": [guard] * n,
            "regime": ["plateau"] * n,
            "score_regime": ["plateau"] * n,
            "guard_bypass_cycle": bypass,
            "capacity_cycle": [np.nan] * n,
            "last_cycle": [99.0] * n,
            "peak_instances": [1.0] * n,
            "escaped_instances": [0.0] * n,
            "goodhart_gap": [0.0] * n,
            "final_ability": [1.0] * n,
            "final_score": [0.5] * n,
            "crashed_fraction": [0.0] * n,
            "rollbacks": [0.0] * n,
        }
    )


def test_no_guard_is_not_a_guard_that_held() -> None:
    table = variant_table(
        pd.concat([_worlds("none", [np.nan] * 4), _worlds("in_loop", [10, 20, np.nan, 40])])
    )
    assert math.isnan(table.loc["none", "p_bypass"]) and table.loc["none", "guard"] == "none"
    assert table.loc["in_loop", "p_bypass"] == 0.75
    assert table.loc["in_loop", "median_bypass_cycle"] == 20.0


def test_replicates_pool_into_their_variant() -> None:
    runs = pd.DataFrame(
        {
            "loop.guard.mode": ["none", "in_loop"] * 3,
            "run.seed": [0, 0, 1, 1, 2, 2],
            "my.rep": [7] * 3 + [8] * 3,
        },
        index=list("abcdef"),
    )
    d = design(runs, replicates=["my.rep"])
    assert d.factors == ["loop.guard.mode"] and d.replicates == ["run.seed", "my.rep"]
    assert d.variants == ["guard.mode=in_loop", "guard.mode=none"]


def test_one_run_is_labelled_by_its_guard() -> None:
    d = design(pd.DataFrame({"experiment": ["story"]}, index=["a"]), guard_modes={"a": "in_loop"})
    assert d.variants == ["experiment=story, guard.mode=in_loop"]


def test_many_valued_parameter_is_binned_into_quantiles() -> None:
    values = np.linspace(0.5, 1.5, 40)
    d = design(pd.DataFrame({"loop.propose.returns": values}, index=[f"r{i}" for i in range(40)]))
    assert 40 > MAX_LEVELS and d.binned == {"loop.propose.returns": 4}
    assert len(d.variants) == 4 and d.runs["variant"].value_counts().tolist() == [10] * 4


def test_most_different_keeps_the_extremes() -> None:
    features = pd.DataFrame(
        {"x": np.r_[np.zeros(40), 10.0], "y": np.r_[np.linspace(0, 1, 40), 0.5]},
        index=[f"v{i}" for i in range(41)],
    )
    kept = most_different(features, 5)
    assert len(kept) == 5 and "v40" in kept and "v0" in kept and "v39" in kept


@pytest.mark.parametrize("pair", [None, ("b", "c")])
def test_phase_tables_over_every_pair(pair: tuple[str, str] | None) -> None:
    frame = pd.DataFrame(
        {
            "a": [1, 1, 2, 2] * 2,
            "b": [True, False] * 4,
            "c": ["x"] * 4 + ["y"] * 4,
            "regime": ["takeoff", "plateau", "takeoff", "takeoff"] * 2,
        }
    )
    tables = phase_tables(frame, ["a", "b", "c"], pairs=[pair] if pair else None)
    assert [(x, y) for x, y, _, _ in tables] == (
        [("b", "c")] if pair else [("a", "b"), ("a", "c"), ("b", "c")]
    )
    x, y, table, worlds = tables[0]
    if pair is None:
        assert table.loc[False, 1] == 0.0 and table.loc[False, 2] == 1.0 and worlds.loc[False, 1] == 2
