"""Set-up of a LocalCluster's worker processes (a Dask worker plugin; imports distributed)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin


class IgnoreInterrupt(WorkerPlugin):
    """A local worker ignores SIGINT; the sweep's driver stops it.

    A terminal's Ctrl-C goes to the whole foreground process group, so each of a
    LocalCluster's worker processes would raise ``KeyboardInterrupt`` inside Dask's
    event loop and print a traceback over the launcher's one-line message. The
    driver catches the interrupt and closes the cluster, which ends the workers.
    Registered as a plugin, it also sets up the workers the nannies start later
    in place of one that died.
    """

    name = "takeoff-ignore-interrupt"

    def setup(self, worker: Any) -> None:
        """Ignore SIGINT in this worker process (its event loop runs on the main thread)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
