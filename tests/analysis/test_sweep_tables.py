"""Sweep-level tables: Kaplan–Meier, phase diagrams."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.sweep import kaplan_meier, phase_table


def test_kaplan_meier_known_answer() -> None:
    # Bypass at 5 and 10, censored at 10 and 20: S = 1, 3/4 after 5, 3/4 * 2/3 after 10.
    km = kaplan_meier(np.array([5.0, 10.0, 10.0, 20.0]), np.array([True, True, False, False]))
    assert km["cycle"].tolist() == [0.0, 5.0, 10.0]
    np.testing.assert_allclose(km["survival"], [1.0, 0.75, 0.5])


def test_kaplan_meier_without_events_stays_at_one() -> None:
    km = kaplan_meier(np.array([30.0, 30.0]), np.array([False, False]))
    assert km["survival"].tolist() == [1.0]


def test_phase_table_over_two_parameters() -> None:
    frame = pd.DataFrame({"a": [1, 1, 2, 2], "b": [True, False, True, False],
                          "regime": ["takeoff", "plateau", "takeoff", "takeoff"]})
    table = phase_table(frame, ["a", "b"])
    assert table is not None
    assert table.loc[False, 1] == 0.0 and table.loc[False, 2] == 1.0
