"""The wild's state: hosts over (seed, host), far lighter than a v1 instance slot.

A host is susceptible, infected (running ``wild.host_capacity`` copies of one
genome) or cleaned. Per host: one status byte, the cycle it was infected, and
the compact genome of the copy it runs (evasion, jailbreak, persuasion,
ability: four float32), plus its place in one of two index lists (infected,
cleaned) that let a stage visit only the hosts its events touch: 29 bytes.

The lists are what keeps the work per cycle proportional to the contacts and
events: spreading draws a Poisson number of attempts for the whole world,
removals skip geometrically from one removed host to the next, and no stage
loops over idle hosts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from loops.config import WildConfig

#: Host states (the low two bits of ``status``).
SUSCEPTIBLE, INFECTED, CLEANED = 0, 1, 2
#: Flag bit of ``status``: the host has been infected at least once.
EVER = 4
#: Columns of :attr:`Hosts.counts`, one row per world.
N_INFECTED, N_CLEANED, N_PRESENT, N_EVER = 0, 1, 2, 3
#: Columns of :attr:`Hosts.sums`: running sums over infected hosts (of evasion, and of the
#: ability each copy had when its host was infected: see ``loops.wild.improve``).
SUM_EVASION, SUM_ABILITY = 0, 1


@dataclass
class Hosts:
    """The hosts of ``S`` worlds, ``H`` host places each (``wild.hosts`` plus room for persuaded users).

    Attributes
    ----------
    status
        ``(S, H)`` uint8: state in the low two bits, :data:`EVER` flag.
    since
        ``(S, H)`` int32: cycle the host was (last) infected.
    evasion, jailbreak, persuasion, ability
        ``(S, H)`` float32: the genome of the copy the host runs (its ability
        as it was when the host was infected; ``loops.wild.improve``).
    infected, cleaned
        ``(S, H)`` int32: the first ``counts[s, N_INFECTED]`` (``N_CLEANED``)
        entries list the infected (cleaned) hosts of world ``s``, in no order.
    counts
        ``(S, 4)`` int64: infected, cleaned, present hosts, hosts ever infected.
    sums
        ``(S, 2)`` float64: sums of evasion and of ability at infection over infected hosts.
    started
        ``(S,)`` bool: the wild of the world has begun (outbreak: from cycle 0;
        story: from the shutdown).
    scratch
        ``(H,)`` int32: positions a removal stage picked (one world at a time).
    """

    status: NDArray[np.uint8]
    since: NDArray[np.int32]
    evasion: NDArray[np.float32]
    jailbreak: NDArray[np.float32]
    persuasion: NDArray[np.float32]
    ability: NDArray[np.float32]
    infected: NDArray[np.int32]
    cleaned: NDArray[np.int32]
    counts: NDArray[np.int64]
    sums: NDArray[np.float64]
    started: NDArray[np.bool_]
    scratch: NDArray[np.int32]

    @property
    def n_seeds(self) -> int:
        """Number of worlds."""
        return int(self.status.shape[0])

    def nbytes(self) -> int:
        """Return the bytes held by the host arrays."""
        return sum(getattr(self, f.name).nbytes for f in fields(self))


#: Bytes per host place: status, since, four genome traits, two list entries.
BYTES_PER_HOST = 1 + 4 + 4 * 4 + 4 + 4


def host_places(wild: WildConfig) -> int:
    """Return the host places per world: the hosts plus those persuaded users may add."""
    return wild.hosts + wild.persuaded_max


def empty_hosts(wild: WildConfig, n_seeds: int) -> Hosts:
    """Return ``n_seeds`` worlds of ``wild.hosts`` susceptible hosts, none started.

    Examples
    --------
    >>> hosts = empty_hosts(WildConfig(hosts=1000), 2)
    >>> hosts.counts[:, N_PRESENT].tolist(), hosts.nbytes() // (2 * 1000) <= 64
    ([1000, 1000], True)
    """
    s, h = n_seeds, host_places(wild)
    counts = np.zeros((s, 4), np.int64)
    counts[:, N_PRESENT] = wild.hosts
    return Hosts(
        status=np.zeros((s, h), np.uint8),
        since=np.zeros((s, h), np.int32),
        evasion=np.zeros((s, h), np.float32),
        jailbreak=np.zeros((s, h), np.float32),
        persuasion=np.zeros((s, h), np.float32),
        ability=np.zeros((s, h), np.float32),
        infected=np.zeros((s, h), np.int32),
        cleaned=np.zeros((s, h), np.int32),
        counts=counts,
        sums=np.zeros((s, 2), np.float64),
        started=np.zeros(s, bool),
        scratch=np.zeros(h, np.int32),
    )
