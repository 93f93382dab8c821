"""Per-variant tables and guard survival on summaries with known answers; crashed_fraction of a world."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import results
from analysis.sweep import guard_survival, variant_table
from analysis.world import analyse_worlds
from results.schema import VARIABLES

NAN = math.nan


def summary() -> pd.DataFrame:
    rows = {
        "variant": ["a"] * 4 + ["b"] * 3,
        "regime": ["takeoff", "takeoff", "exponential", "plateau", "plateau", "plateau", "takeoff"],
        "score_regime": ["apparent_plateau"] * 7,
        "guard_bypass_cycle": [10.0, NAN, 30.0, 50.0, NAN, NAN, NAN],
        "last_cycle": [99.0] * 7,
    }
    frame = pd.DataFrame(rows)
    for column in ("capacity_cycle", "peak_instances", "escaped_instances", "goodhart_gap",
                   "final_ability", "crashed_fraction", "rollbacks"):
        frame[column] = 1.0
    return frame


def test_variant_table_known_answers() -> None:
    table = variant_table(summary())
    assert table.loc["a", "worlds"] == 4 and table.loc["b", "worlds"] == 3
    assert table.loc["a", "p_takeoff"] == 0.5
    assert table.loc["b", "p_takeoff"] == pytest.approx(1 / 3)
    assert table.loc["a", "p_bypass"] == 0.75
    # The median over the worlds that were bypassed (10, 30, 50), not counting the others.
    assert table.loc["a", "median_bypass_cycle"] == 30.0
    assert table.loc["b", "p_bypass"] == 0.0 and np.isnan(table.loc["b", "median_bypass_cycle"])


def test_guard_survival_censors_worlds_that_end_early() -> None:
    # Bypass at 10 and 40; one world ends (diverges) at 20 unbypassed, one runs to 99.
    frame = pd.DataFrame({
        "variant": ["a"] * 4,
        "guard_bypass_cycle": [10.0, 40.0, NAN, NAN],
        "last_cycle": [99.0, 99.0, 20.0, 99.0],
    })
    km = guard_survival(frame)
    at = dict(zip(km["cycle"], km["survival"], strict=False))
    assert at[10.0] == 0.75
    # Censored at 20, the world leaves the risk set: 3/4 * 1/2, not 3/4 * 2/3.
    assert at[40.0] == pytest.approx(0.375)
    assert km["cycle"].iat[-1] == 99.0 and km["survival"].iat[-1] == pytest.approx(0.375)


def test_crashed_fraction_is_the_largest_share_of_instances_crashed() -> None:
    seeds, cycles = 2, 30
    arrays = {name: np.zeros([{"seed": seeds, "cycle": cycles, "domain": 1}[d] for d in v.dims], v.dtype)
              for name, v in VARIABLES.items()}
    arrays["diverged_cycle"][:] = -1
    arrays["ability"][...] = np.linspace(0, 1, cycles)[None, :, None]
    arrays["score"][...] = 0.5
    arrays["instances"][0] = 4.0
    arrays["instances_external"][0] = 4.0
    arrays["crashed"][0, 5] = 2.0
    arrays["crashed"][0, 12] = 6.0  # 6 of 8 alive (home and external) crashed
    arrays["instances"][0, 20:] = 0.0
    arrays["crashed"][0, 25] = 1.0  # 1 of the 4 left: a smaller share
    ds = results.run_dataset(arrays, seed=np.arange(seeds), cycle=np.arange(cycles), domain=["math"])
    worlds = analyse_worlds(ds, {"capacity": {"home": 4}})
    np.testing.assert_allclose(worlds["crashed_fraction"].values, [0.75, 0.0])
