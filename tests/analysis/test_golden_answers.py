"""The analysis gives the golden answers (see tests/analysis/golden.py): change detection only."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.events import jump
from analysis.growth import classify
from tests.analysis import golden

GOLDEN = golden.load()


@pytest.mark.parametrize("r", ["0.5", "1.0", "1.5"])
def test_deterministic_limit(r: str) -> None:
    theta, diverged = golden.deterministic(float(r))
    reg = classify(np.arange(200.0), theta, diverged=diverged)
    want = GOLDEN["deterministic"][r]
    assert reg.regime == want["regime"]
    np.testing.assert_allclose([reg.blowup_cycle, reg.blowup_low, reg.blowup_high], want["blowup"], rtol=1e-9)


def test_planted_jumps() -> None:
    for seed, want in GOLDEN["planted_jumps"].items():
        t, y, _ = golden.planted_jump(int(seed))
        np.testing.assert_allclose(jump(t, y), want, rtol=1e-12, err_msg=f"seed {seed}")


def test_noisy_exponentials() -> None:
    t, curves = golden.noisy_exponentials()
    got = [classify(t, y).regime for y in curves]
    want = GOLDEN["noisy_exponential"]
    changed = [(i, g, w) for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    assert not changed, f"{len(changed)} of {len(got)} noisy exponentials changed regime: {changed[:10]}"


def test_logistic_curves() -> None:
    for key, want in GOLDEN["logistic"].items():
        a, dtype, noise = key.split()
        got = classify(*golden.logistic(float(a[2:]), np.dtype(dtype).type, float(noise[6:]))).regime
        assert got == want, key


@pytest.mark.slow
@pytest.mark.parametrize("variant", [" ".join(v) for v in golden.DEMO])
def test_demo_worlds(variant: str) -> None:
    got, want = golden.demo_worlds()[variant], GOLDEN["demo"][variant]
    for column in golden.DEMO_COLUMNS:
        if isinstance(want[column][0], str):
            assert got[column] == want[column], column
        else:
            np.testing.assert_allclose(got[column], want[column], rtol=1e-9, err_msg=column)
