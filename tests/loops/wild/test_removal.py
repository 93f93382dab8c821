"""Countermeasures against their laws: the SIR threshold and final size, selection for evasion.

Cleaning comes after the cycle's spread and a host infected in cycle ``t`` is
first cleaned in ``t + 1`` (``loops/wild/removal.py``), so a copy scans for a
geometric number of cycles with mean ``1 / gamma`` and ``R0 = beta / gamma``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from loops.random import Streams
from loops.suite import BenchmarkSuite
from loops.wild.meanfield import final_size
from loops.wild.run import WildRun
from tests.loops.conftest import compose
from tests.loops.wild.conftest import outbreak

GAMMA = 0.5
N = 20_000
SIR = (f"wild.hosts={N}", "wild.seed_copies=5", "wild.mutation=0", "countermeasures.t_clean=0",
       f"countermeasures.clean_rate={GAMMA}", "countermeasures.immunity_loss=0")


def sir(suite: BenchmarkSuite, r0: float, seeds: int = 24, cycles: int = 250) -> np.ndarray:
    """Return each seed's final size (hosts ever infected / N) at ``R0 = r0``; every outbreak over."""
    traj = outbreak(suite, *SIR, f"wild.contact_rate={r0 * GAMMA}", seeds=seeds, cycles=cycles)
    assert (traj.copies_wild[:, -1] == 0).all(), f"R0={r0}: an outbreak still runs after {cycles} cycles"
    return traj.hosts_ever_infected[:, -1].astype(np.float64) / N


def test_below_threshold_no_outbreak(suite: BenchmarkSuite) -> None:
    sizes = sir(suite, 0.8)
    assert sizes.max() < 0.05, f"R0 = 0.8: a seed reached {sizes.max():.3f} of the hosts"


@pytest.mark.parametrize("r0", [1.5, 2.0, 3.0])
def test_final_size_of_major_outbreaks(suite: BenchmarkSuite, r0: float) -> None:
    sizes = sir(suite, r0)
    major = sizes[sizes > 0.05]
    assert major.size >= sizes.size // 2, f"R0={r0}: only {major.size} of {sizes.size} major outbreaks"
    z = final_size(r0)
    assert abs(major.mean() - z) < 0.02, f"R0={r0}: final size {major.mean():.4f}, law z = {z:.4f}"


def two_types(detect_rate: float, evasion: float, cycles: int, hosts: int = 100_000) -> tuple[
        np.ndarray, float]:
    """Detect (only) in a world of two genomes, half with evasion 0, half ``evasion``; no spread, no mutation.

    Returns the evasive fraction per cycle and ``s = ln((1 - d_e) / (1 - d_n))``.
    """
    run = compose("+experiment=outbreak", f"wild.hosts={hosts}", "wild.contact_rate=0", "wild.mutation=0",
                  "countermeasures.t_detect=0", f"countermeasures.detect_rate={detect_rate}",
                  "countermeasures.signature_width=1")
    wild = WildRun(run.world(), Streams(run.seed, [0]).worlds)
    wild.seed_hosts(0, hosts, ability=0.0, since=-1)
    h = wild.hosts
    h.evasion[0, hosts // 2: hosts] = evasion
    h.sums[0, 0] = float(h.evasion[0].astype(np.float64).sum())
    fraction = np.empty(cycles + 1)
    for cycle in range(cycles + 1):
        infected = h.infected[0, : h.counts[0, 0]]
        fraction[cycle] = (h.evasion[0, infected] > 0).mean()
        for stage, cfg in wild.stages:
            stage.run(h, cfg, wild.worlds, cycle)
    d_n, d_e = detect_rate, detect_rate * math.exp(-evasion)
    return fraction, math.log((1 - d_e) / (1 - d_n))


def replicator(p0: float, s: float, t: np.ndarray) -> np.ndarray:
    """Frequency of the fitter type: ``p0 e^{st} / (1 - p0 + p0 e^{st})``."""
    g = p0 * np.exp(s * t)
    return g / (1 - p0 + g)


@pytest.mark.parametrize("detect_rate", [0.1, 0.3])
def test_selection_follows_replicator_dynamics(detect_rate: float) -> None:
    cycles = 12
    fraction, s = two_types(detect_rate, evasion=1.0, cycles=cycles)
    want = replicator(0.5, s, np.arange(cycles + 1))
    # The evasive fraction is a ratio of binomial survivors: its sd is below 1 / (2 sqrt(survivors)).
    assert np.max(np.abs(fraction - want)) < 0.01, f"evasive fraction {fraction} vs replicator {want}"


def test_stronger_detection_selects_faster() -> None:
    weak, s_weak = two_types(0.1, evasion=1.0, cycles=10)
    strong, s_strong = two_types(0.3, evasion=1.0, cycles=10)
    assert s_strong > s_weak > 0
    assert strong[-1] > weak[-1] + 0.05, f"evasive fraction after 10 cycles: {strong[-1]} vs {weak[-1]}"


def test_evasion_rises_under_detection_and_only_drifts_without(suite: BenchmarkSuite) -> None:
    mutation, t_detect, cycles = 0.1, 60, 160
    common = ("wild.hosts=20000", f"wild.mutation={mutation}", "wild.contact_rate=0.5",
              "countermeasures.immunity_loss=0.05", "countermeasures.t_clean=0",
              "countermeasures.clean_rate=0.05")
    free = outbreak(suite, *common, seeds=8, cycles=cycles)
    # Mutation alone is a reflected random walk along each line of descent: after at most
    # ``cycles`` generations its mean is at most mutation * sqrt(2 cycles / pi).
    drift_bound = mutation * math.sqrt(2 * cycles / math.pi)
    drift = np.nanmean(free.evasion_mean[:, -1])
    assert drift < drift_bound, f"evasion drifted to {drift:.3f} by mutation alone (bound {drift_bound:.3f})"
    drift_gain = float(np.nanmean(free.evasion_mean[:, -1]) - np.nanmean(free.evasion_mean[:, t_detect - 1]))
    gains = {}
    for rate in (0.1, 0.3):
        run = outbreak(suite, *common, f"countermeasures.t_detect={t_detect}",
                       f"countermeasures.detect_rate={rate}", seeds=8, cycles=cycles)
        before = np.nanmean(run.evasion_mean[:, t_detect - 1])
        gains[rate] = float(np.nanmean(run.evasion_mean[:, -1]) - before)
        assert gains[rate] > 3 * drift_gain, (
            f"detect_rate={rate}: evasion rose {gains[rate]:.3f}, by mutation alone {drift_gain:.3f}")
    assert gains[0.3] > 1.5 * gains[0.1], f"evasion gains {gains}: stronger detection must select faster"
