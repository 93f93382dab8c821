"""Claims: which live sweep is computing which runs of a store.

A sweep claims the runs it is about to compute with one small record in the
store's ``claims/`` directory naming its process (host, boot id, pid and the
process's start time) and the runs; it refreshes the record every
:data:`REFRESH_S` seconds and removes it when it ends. Another sweep on the same
store skips runs held by a live claim and waits for them. A claim is dead, and
its runs free to take over, when its host is this host and no process matches
it (the pid is gone or belongs to a process started at another time), or when
it has not been refreshed for :data:`STALE_S` seconds (a holder on another host).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)

#: Seconds between refreshes of a live claim.
REFRESH_S = 30.0
#: A claim not refreshed for this long is dead, wherever its holder runs.
STALE_S = 300.0


def boot_id() -> str:
    """Return this machine's boot id (Linux), or ``""`` where there is none."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str:
    """Return the start time of process ``pid`` (clock ticks since boot, Linux), ``""`` if unknown.

    With the boot id it names a process uniquely: a pid reused by a later
    process has another start time.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[19]  # field 22, starttime


@dataclass(frozen=True)
class Holder:
    """The process that holds a claim.

    Attributes
    ----------
    id
        12 hex digits, unique per claim (also part of the names of the holder's temporary groups).
    host, boot_id, pid, start_time
        Which process on which machine, since which boot.
    """

    id: str
    host: str
    boot_id: str
    pid: int
    start_time: str

    @classmethod
    def this_process(cls) -> Holder:
        """Return a new holder for the calling process."""
        pid = os.getpid()
        return cls(uuid.uuid4().hex[:12], socket.gethostname(), boot_id(), pid, process_start(pid))

    def record(self, runs: list[str], refreshed: float) -> dict[str, Any]:
        """Return the claim record holding ``runs``, refreshed at ``refreshed`` (Unix time)."""
        return {**asdict(self), "runs": sorted(runs), "refreshed": refreshed}


def is_alive(record: Mapping[str, Any], *, now: float | None = None) -> bool:
    """Return True if the claim ``record`` is held by a live process.

    Examples
    --------
    >>> is_alive(Holder.this_process().record([], time.time()))
    True
    """
    now = time.time() if now is None else now
    if str(record.get("host")) == socket.gethostname():
        if record.get("boot_id") and record.get("boot_id") != boot_id():
            return False  # the machine rebooted since
        pid = int(record.get("pid", -1))
        started = process_start(pid) if pid > 0 else ""
        return bool(started) and started == str(record.get("start_time"))
    try:
        refreshed = float(record.get("refreshed", 0.0))
    except (TypeError, ValueError):
        return False
    return now - refreshed < STALE_S


class Refresher:
    """Call ``refresh`` every :data:`REFRESH_S` seconds in a daemon thread until :meth:`stop`.

    Examples
    --------
    >>> keeper = Refresher(lambda: None)  # doctest: +SKIP
    >>> keeper.stop()  # doctest: +SKIP
    """

    def __init__(self, refresh: Callable[[], None], every: float = REFRESH_S) -> None:
        self._refresh = refresh
        self._every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="takeoff-claims", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopped.wait(self._every):
            try:
                self._refresh()
            except OSError as err:  # a full disk or a lost mount must not kill the sweep
                log.warning("could not refresh the sweep's claim: %s", err)

    def stop(self) -> None:
        """Stop refreshing (returns at once; the thread ends within one wait)."""
        self._stopped.set()
