"""The kernel's output is bit-identical to the golden trajectories (see tests/loops/golden.py)."""

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
