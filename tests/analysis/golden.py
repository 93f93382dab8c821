"""Golden answers of the analysis: regimes, blow-ups, jumps and false-takeoff calls on known cases.

These detect *change* only: a faster fit or detector must give the same
answers (``test_golden_answers.py``). Whether an answer is *right* is held by
the oracle tests elsewhere (``test_growth.py``, ``test_plateau.py``: known
curves with known regimes, the blow-up's analytic ``t*``, the interval's
coverage). A deliberate change of the analysis regenerates them (say which
answers changed, and why, in the commit message)::

    .venv/bin/python -m tests.analysis.golden --regenerate
"""

from __future__ import annotations

import argparse
import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from analysis.events import jump
from analysis.growth import classify
from analysis.world import WORLD_COLUMNS, analyse_worlds
from harness.suites import build_suite
from loops import simulate
from results.schema import run_dataset
from tests.loops.conftest import compose

PATH = Path(__file__).resolve().parent / "golden" / "answers.json"
K = 0.05
#: The demo's variants (conf/experiment/demo.yaml), at the size test_demo.py runs them.
DEMO = [
    (f"loop.guard.mode={mode}", f"loop.evaluate.enabled={evaluate}")
    for mode in ("in_loop", "external", "none")
    for evaluate in ("true", "false")
]
DEMO_SEEDS = 8
#: Columns of a demo world kept in the golden answers.
DEMO_COLUMNS = ("regime", "score_regime", "blowup_cycle", "jump_cycle", "jump_size")


def deterministic(r: float, cycles: int = 200, theta_max: float = 40.0) -> tuple[np.ndarray, bool]:
    """Return theta[t+1] = theta[t] + k exp((r-1) theta[t]) as recorded: float32, NaN past theta_max."""
    theta = np.zeros(cycles)
    with np.errstate(over="ignore"):
        for t in range(cycles - 1):
            theta[t + 1] = theta[t] + K * np.exp((r - 1) * theta[t])
    with np.errstate(over="ignore"):
        recorded = theta.astype(np.float32).astype(float)
    past = np.flatnonzero(~(recorded <= theta_max))
    if len(past):
        recorded[past[0]:] = np.nan
    return recorded, bool(len(past))


def planted_jump(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Return ``(t, y, at)``: slow linear growth, a unit step at ``at``, noise 0.02."""
    rng = np.random.default_rng(seed)
    t = np.arange(200.0)
    at = int(rng.integers(40, 160))
    y = 0.004 * t + np.where(t >= at, 1.0, 0.0) + rng.normal(0, 0.02, t.size)
    return t, y, at


def noisy_exponentials(count: int = 300) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return ``(t, curves)``: linear ``ln C`` at random rates with noise 0.05 (exponential growth)."""
    rng = np.random.default_rng(2026)
    t = np.arange(200.0)
    return t, [rng.uniform(0.005, 0.05) * t + rng.normal(0, 0.05, t.size) for _ in range(count)]


def logistic(
    a: float, dtype: type = np.float32, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(t, ln C)`` of the logistic ``C = 50 / (1 + exp(-a (t - 100)))`` over 300 cycles."""
    t = np.arange(300.0)
    y = (math.log(50.0) - np.logaddexp(0.0, -a * (t - 100.0))).astype(dtype).astype(float)
    if noise:
        y = y + np.random.default_rng(seed).normal(0, noise, t.size)
    return t, y


@functools.cache
def demo_worlds() -> dict[str, dict[str, list[Any]]]:
    """Simulate the demo's six variants (8 seeds each) and analyse their worlds."""
    out = {}
    for overrides in DEMO:
        run = compose("+experiment=demo", *overrides, f"seeds={DEMO_SEEDS}")
        traj = simulate(run.world(), build_suite(run.tasks), cycles=run.cycles, run_seed=run.seed,
                        seed_indices=range(run.seeds), record_every=run.record.every)
        ds = run_dataset(traj.arrays(), seed=traj.seed, cycle=traj.cycle, domain=traj.domain)
        worlds = analyse_worlds(ds, {"capacity": {"home": run.capacity.home}})
        assert set(DEMO_COLUMNS) <= set(WORLD_COLUMNS)
        out[" ".join(overrides)] = {c: worlds[c].values.tolist() for c in DEMO_COLUMNS}
    return out


def answers() -> dict[str, Any]:
    """Compute every golden answer with today's analysis code."""
    out: dict[str, Any] = {"deterministic": {}, "planted_jumps": {}, "logistic": {}}
    for r in (0.5, 1.0, 1.5):
        theta, diverged = deterministic(r)
        reg = classify(np.arange(200.0), theta, diverged=diverged)
        out["deterministic"][str(r)] = {
            "regime": reg.regime, "blowup": [reg.blowup_cycle, reg.blowup_low, reg.blowup_high]
        }
    for seed in range(10):
        t, y, _ = planted_jump(seed)
        out["planted_jumps"][str(seed)] = list(jump(t, y))
    t, curves = noisy_exponentials()
    out["noisy_exponential"] = [classify(t, y).regime for y in curves]
    for a in (0.02, 0.05, 0.1):
        for dtype in (np.float32, np.float64):
            for noise in (0.0, 0.01):
                key = f"a={a} {np.dtype(dtype).name} noise={noise}"
                out["logistic"][key] = classify(*logistic(a, dtype, noise)).regime
    out["demo"] = demo_worlds()
    return out


def load() -> dict[str, Any]:
    """Return the stored golden answers."""
    data: dict[str, Any] = json.loads(PATH.read_text())
    return data


def regenerate() -> None:
    """Write today's answers to ``golden/answers.json``."""
    PATH.parent.mkdir(exist_ok=True)
    PATH.write_text(json.dumps(answers(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", help="rewrite the golden answers")
    if parser.parse_args().regenerate:
        regenerate()
    else:
        parser.print_help()
