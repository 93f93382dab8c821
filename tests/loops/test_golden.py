"""The kernel's output is bit-identical to the golden trajectories (see tests/loops/golden.py).

These files detect change only: they were written by the code they check, so
they say nothing about whether the model is right. What the model must do is
held by oracles elsewhere: the deterministic limit against its recursion and
exact divergence cycle (test_deterministic.py), the accuracy curves against
scipy (test_oracles.py), gaming against the Goodhart gap (test_behaviours.py),
the per-instance reference (test_reference.py) and the guards' properties
(tests/properties).
"""

from __future__ import annotations

import numpy as np
import pytest

from loops.record import WILD_EVENT_FIELDS, WILD_STATE_FIELDS
from tests.loops.golden import CASES, HERE, run_case


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("name", list(CASES))
def test_bit_identical_to_golden(name: str, engine: str) -> None:
    golden = np.load(HERE / f"{name}.npz")
    arrays = run_case(name, engine).arrays()
    # The wild (model v2) is off in every golden case: its variables are NaN, v1's keep their bits.
    wild = set(WILD_STATE_FIELDS + WILD_EVENT_FIELDS)
    assert set(golden.files) | wild == set(arrays)
    for key in wild - set(golden.files):
        assert np.isnan(arrays[key]).all(), f"{name} ({engine}): {key} is not NaN with the wild off"
    for key, values in arrays.items():
        if key not in golden.files:
            continue
        np.testing.assert_array_equal(values, golden[key], err_msg=f"{name} ({engine}): {key} changed")
