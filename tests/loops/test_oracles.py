"""Oracles that share no code with what they check (issue 17, "shared code").

The accuracy curves the simulator looks up are checked against the mean of
``scipy.special.expit(a (theta - b))`` over the item bank, computed here with
scipy at abilities off the grid; the bank itself against the distributions the
suite declares.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from harness.config import TasksConfig
from harness.suites import SUITES, build_suite
from loops.random import Streams
from loops.suite import HELD_OUT, PROXY


def _bank(cfg: TasksConfig, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return difficulty, discrimination and the proxy / held-out item numbers of domain ``d``."""
    draws = Streams(cfg.seed, [d]).stage(cycle=0, stage=0, n_slots=cfg.items)
    difficulty, discrimination = SUITES.get(cfg.suite)(draws, cfg.items)
    n_proxy = round(cfg.items * cfg.proxy_fraction)
    order = np.argsort(draws.uniform(2)[0], kind="stable")
    return difficulty, discrimination, order[:n_proxy], order[n_proxy:]


@pytest.mark.parametrize("name", ["saturating", "heavy_tail"])
def test_accuracy_curves_are_the_item_response_mean_over_the_bank(name: str) -> None:
    cfg = TasksConfig(suite=name)
    suite = build_suite(cfg)
    theta = np.random.default_rng(5).uniform(-6, 12, size=(400, 1)) * np.ones((1, len(cfg.domains)))
    for part, index in ((PROXY, 2), (HELD_OUT, 3)):
        looked_up = suite.accuracy(theta.copy(), part)
        for d in range(len(cfg.domains)):
            bank = _bank(cfg, d)
            b, a = bank[0][bank[index]], bank[1][bank[index]]
            expected = special.expit(a[None, :] * (theta[:, d, None] - b[None, :])).mean(axis=1)
            # Linear interpolation on a 0.01 grid: error below |f''| h^2 / 8 (< 2e-5 here).
            np.testing.assert_allclose(looked_up[:, d], expected, rtol=0, atol=5e-5)


def test_the_saturating_bank_has_the_declared_distributions() -> None:
    cfg = TasksConfig(items=4000)
    difficulty, discrimination, proxy, held = _bank(cfg, 0)
    assert stats.kstest(difficulty, stats.norm(0.5, 1).cdf).pvalue > 1e-3
    assert stats.kstest(np.log(discrimination), stats.norm(0.3, 0.3).cdf).pvalue > 1e-3
    assert len(proxy) == 2000 and len(np.intersect1d(proxy, held)) == 0
