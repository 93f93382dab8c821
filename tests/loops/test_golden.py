"""The kernel's output is bit-identical to the golden trajectories (see tests/loops/golden.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.loops.golden import CASES, HERE, run_case


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("name", list(CASES))
def test_bit_identical_to_golden(name: str, engine: str) -> None:
    golden = np.load(HERE / f"{name}.npz")
    arrays = run_case(name, engine).arrays()
    assert set(golden.files) == set(arrays)
    for key, values in arrays.items():
        np.testing.assert_array_equal(values, golden[key], err_msg=f"{name} ({engine}): {key} changed")
