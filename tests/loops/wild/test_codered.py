"""``+experiment=codered``: the calibration example reproduces Code Red's published landmarks.

Moore, Shannon & Brown (2002): about 359,000 hosts infected within 14 hours
(840 one-minute cycles), and a peak above 2,000 new hosts per minute; the
growth rate is Staniford, Paxson & Weaver's (2002) K = 1.8 per hour (the
preset's comments say which value comes from where).
"""

from __future__ import annotations

import numpy as np

from loops import simulate
from loops.suite import BenchmarkSuite
from tests.loops.conftest import compose


def test_codered_landmarks(suite: BenchmarkSuite) -> None:
    run = compose("+experiment=codered")
    assert run.cycles == 840 and run.wild.hosts == 360_000 and run.wild.seed_copies == 1
    seeds = 4  # the preset runs 16; four show the landmarks (make bench times all 16)
    traj = simulate(run.world(), suite, cycles=run.cycles, run_seed=run.seed, seed_indices=range(seeds))
    final = traj.hosts_infected[:, -1]
    assert ((final >= 359_000) & (final <= 360_000)).all(), f"infected after 14 hours: {final}"
    peak = np.nanmax(traj.infections, axis=1)
    assert (peak > 2000).all(), f"peak new hosts per minute: {peak}"
