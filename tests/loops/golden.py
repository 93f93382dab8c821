"""Golden trajectories: the kernel's exact output on the story and deterministic presets.

Optimisations must leave these bit for bit unchanged, on both engines. A
deliberate change of the model regenerates them (say so in the commit message)::

    .venv/bin/python -m tests.loops.golden --regenerate
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from harness.suites import build_suite
from loops import simulate
from loops.record import Trajectory
from tests.loops.conftest import compose

HERE = Path(__file__).resolve().parent / "golden"
CASES = {
    "story": ("+experiment=story", "seeds=4", "cycles=300"),
    "deterministic_r0.5": ("+experiment=deterministic", "loop.propose.returns=0.5"),
    "deterministic_r1.0": ("+experiment=deterministic", "loop.propose.returns=1.0"),
    "deterministic_r1.5": ("+experiment=deterministic", "loop.propose.returns=1.5"),
}


def run_case(name: str, engine: str = "numpy") -> Trajectory:
    """Simulate golden case ``name`` as the app would, on ``engine``."""
    run = compose(*CASES[name])
    return simulate(run.world(), build_suite(run.tasks), cycles=run.cycles, run_seed=run.seed,
                    seed_indices=range(run.seeds), record_every=run.record.every, engine=engine)


def regenerate() -> None:
    """Write every golden case's arrays to ``golden/<case>.npz``."""
    HERE.mkdir(exist_ok=True)
    for name in CASES:
        np.savez_compressed(HERE / f"{name}.npz", **run_case(name).arrays())
        print(f"wrote {HERE / name}.npz")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", help="rewrite the golden files")
    if parser.parse_args().regenerate:
        regenerate()
    else:
        parser.print_help()
