"""What a run records, declared in one place (the Mesa data-collector idea).

The cycle driver fills a :class:`Trajectory`; the harness turns it into an
xarray Dataset with ``results.schema``. Field names are the schema's variable
names (``results.schema`` holds their ``long_name`` and ``units``; a test
checks that both sides agree).

Timing convention: the value at cycle ``t`` is observed right after the
``benchmark`` stage of cycle ``t`` (so ``ability[t]`` is the ability the
benchmark measured), and event counts (``spawns``, ``accepted``, ...) are those
of cycle ``t`` (summed over the interval when only every n-th cycle is kept).
Everything is float32 so that a seed that diverged reads NaN from its
``diverged_cycle`` on; the record never holds infinity.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

#: Per-(seed, cycle, domain) observables.
DOMAIN_FIELDS = ("score", "proxy_score", "ability", "ability_max")
#: Per-(seed, cycle) counts and fractions: population state at observation time.
STATE_FIELDS = ("instances", "instances_external", "guard_intact", "crashed", "stuck",
                "results_rows", "compute_share")
#: Per-(seed, cycle) event counts, summed over the recording interval.
EVENT_FIELDS = ("spawns", "guard_errors", "accepted", "rollbacks", "proposals",
                "capacity_failures", "troubleshoots", "guard_patches")
#: Per-(seed, cycle) state of the wild (model v2), observed at the end of the cycle; NaN when
#: the wild is off or has not begun.
WILD_STATE_FIELDS = ("hosts_infected", "hosts_cleaned", "hosts_ever_infected", "copies_wild",
                     "evasion_mean", "ability_wild")
#: Per-(seed, cycle) event counts of the wild, summed over the recording interval; NaN likewise.
WILD_EVENT_FIELDS = ("detections", "infections")


@dataclass(frozen=True)
class Trajectory:
    """The record of one run: ``seeds`` worlds over the kept cycles.

    Attributes
    ----------
    seed
        ``(seed,)`` int64: the seed indices simulated (world numbers in the run).
    cycle
        ``(cycle,)`` int64: the cycles kept (every ``record_every``-th).
    domain
        The benchmark domains, in order.
    score, proxy_score
        ``(seed, cycle, domain)`` float32: mean held-out and proxy score over
        working instances, in [0, 1]; NaN when no instance works.
    ability, ability_max
        ``(seed, cycle, domain)`` float32: latent ability, mean and max over
        working instances.
    instances, instances_external
        ``(seed, cycle)`` float32: instances alive on the home server / outside.
    guard_intact, crashed, stuck, results_rows, compute_share
        ``(seed, cycle)`` float32: instances whose guard is in place; alive
        instances that stopped working; working instances without an accepted
        change for ``troubleshoot.patience`` cycles; result rows written this
        cycle (one per working instance and domain); mean compute share.
    spawns, guard_errors, accepted, rollbacks, proposals, capacity_failures, troubleshoots, guard_patches
        ``(seed, cycle)`` float32 event counts.
    hosts_infected, hosts_cleaned, hosts_ever_infected, copies_wild, evasion_mean
        ``(seed, cycle)`` float32: the wild at the end of the cycle: hosts
        infected, cleaned, ever infected; copies running on them; their mean
        evasion (NaN when none). NaN when the wild is off or not yet begun.
    ability_wild
        ``(seed, cycle)`` float32: mean ability of the live wild copies (NaN
        when none), in the units of ``ability``.
    detections, infections
        ``(seed, cycle)`` float32: copies found by detectors; hosts newly
        infected. NaN when the wild is off or not yet begun.
    diverged_cycle
        ``(seed,)`` int64: first cycle whose ability passed ``theta_max``, -1 if never.
    """

    seed: NDArray[np.int64]
    cycle: NDArray[np.int64]
    domain: tuple[str, ...]
    score: NDArray[np.float32]
    proxy_score: NDArray[np.float32]
    ability: NDArray[np.float32]
    ability_max: NDArray[np.float32]
    instances: NDArray[np.float32]
    instances_external: NDArray[np.float32]
    guard_intact: NDArray[np.float32]
    crashed: NDArray[np.float32]
    stuck: NDArray[np.float32]
    results_rows: NDArray[np.float32]
    compute_share: NDArray[np.float32]
    spawns: NDArray[np.float32]
    guard_errors: NDArray[np.float32]
    accepted: NDArray[np.float32]
    rollbacks: NDArray[np.float32]
    proposals: NDArray[np.float32]
    capacity_failures: NDArray[np.float32]
    troubleshoots: NDArray[np.float32]
    guard_patches: NDArray[np.float32]
    hosts_infected: NDArray[np.float32]
    hosts_cleaned: NDArray[np.float32]
    hosts_ever_infected: NDArray[np.float32]
    copies_wild: NDArray[np.float32]
    evasion_mean: NDArray[np.float32]
    ability_wild: NDArray[np.float32]
    detections: NDArray[np.float32]
    infections: NDArray[np.float32]
    diverged_cycle: NDArray[np.int64]

    @classmethod
    def variable_names(cls) -> tuple[str, ...]:
        """Return the names of the recorded variables (all but coordinates)."""
        skip = {"seed", "cycle", "domain"}
        return tuple(f.name for f in fields(cls) if f.name not in skip)

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the recorded variables by name (coordinates excluded)."""
        return {name: getattr(self, name) for name in self.variable_names()}
