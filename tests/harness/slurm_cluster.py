"""A real single-node Slurm cluster for the tests, under a temporary directory.

Debian's ``slurm-wlm`` and ``munge`` packages (22.05), as root, without systemd
or cgroups: a munge daemon with its own key and socket, ``slurmctld`` and
``slurmd`` with a config that ``SLURM_CONF`` points to. Nothing is read from
or written to ``/etc`` or ``/run``. The same steps, as a recipe a user can
follow, are in the README ("Try it on a laptop").

The fixture ``slurm`` (session scope) starts the cluster once, waits until the
node is idle, and at the end cancels what is left in the queue and stops every
daemon it started, by pid. Where ``slurmctld`` is missing the Slurm tests skip,
except where ``CI`` is set: there they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SBIN = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
PARTITION = "debug"
#: A partition that is down: Slurm accepts its jobs and keeps them pending (reason ``PartitionDown``).
DOWN_PARTITION = "down"


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def slurm_conf(root: Path, node: str, cpus: int, memory_mb: int) -> str:
    """Return a single-node ``slurm.conf`` whose state, spool, pid and log files are under ``root``."""
    return "\n".join([
        "ClusterName=takeoff",
        f"SlurmctldHost={node}",
        f"SlurmctldPort={_free_port()}",
        f"SlurmdPort={_free_port()}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={root}/munge/munge.socket",
        f"StateSaveLocation={root}/state",
        f"SlurmdSpoolDir={root}/spool",
        f"SlurmctldPidFile={root}/slurmctld.pid",
        f"SlurmdPidFile={root}/slurmd.pid",
        f"SlurmctldLogFile={root}/log/slurmctld.log",
        f"SlurmdLogFile={root}/log/slurmd.log",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "ReturnToService=2",
        "MailProg=/bin/true",
        "KillWait=5",  # seconds between a cancelled job's SIGTERM and SIGKILL (default 30)
        "MinJobAge=5",
        # Schedule a batch job when it is submitted (by default up to 3 s later): each worker
        # job the tests submit starts at once.
        "SchedulerParameters=batch_sched_delay=0",
        # More single-threaded workers than cores: the node claims `cpus` CPUs.
        "SlurmdParameters=config_overrides",
        f"NodeName={node} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={node} Default=YES MaxTime=INFINITE State=UP",
        f"PartitionName={DOWN_PARTITION} Nodes={node} MaxTime=INFINITE State=DOWN",
        "",
    ])


@dataclass
class SlurmCluster:
    """A running single-node Slurm cluster: its config file and the environment that points to it."""

    root: Path
    conf: Path
    node: str
    partition: str
    env: dict[str, str]

    def run(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a Slurm command (``squeue``, ``scancel``, ...) against this cluster."""
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, timeout=timeout,
                              check=False)

    def jobs(self, fmt: str = "%i") -> list[str]:
        """Return one line per job in the queue (pending, running or completing), in ``squeue`` format."""
        done = self.run("squeue", "-h", "-o", fmt)
        assert done.returncode == 0, done.stderr
        return [line.strip() for line in done.stdout.splitlines() if line.strip()]

    def wait_for_empty_queue(self, timeout: float) -> float:
        """Return the seconds until the queue is empty; fail after ``timeout``."""
        start = time.monotonic()
        while self.jobs():
            assert time.monotonic() - start < timeout, f"jobs still queued after {timeout} s: {self.jobs()}"
            time.sleep(0.5)
        return time.monotonic() - start


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _stop(pid: int, timeout: float = 15) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _processes_using(conf: Path) -> list[int]:
    """Return the pids of processes (other than this one) whose environment names ``conf``."""
    needle = f"SLURM_CONF={conf}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0") and _alive(int(entry.name)):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _start(root: Path) -> tuple[SlurmCluster, list[Path]]:
    node = socket.gethostname().split(".")[0]
    for sub in ("munge", "state", "spool", "log"):
        (root / sub).mkdir(mode=0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    pidfiles = [root / "munge" / "munged.pid"]
    subprocess.run([str(_which("munged")), "--force", f"--socket={root}/munge/munge.socket",
                    f"--key-file={key}", f"--pid-file={pidfiles[0]}", f"--log-file={root}/log/munged.log",
                    f"--seed-file={root}/munge/munged.seed"], check=True, capture_output=True, timeout=30)
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    conf = root / "slurm.conf"
    conf.write_text(slurm_conf(root, node, cpus=max(8, os.cpu_count() or 1), memory_mb=memory_mb // 2))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    cluster = SlurmCluster(root, conf, node, PARTITION, env)
    for daemon in ("slurmctld", "slurmd"):
        pidfiles.append(root / f"{daemon}.pid")
        done = subprocess.run([str(_which(daemon))], env=env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{daemon} did not start: {done.stderr.strip()}")
    deadline = time.monotonic() + 60
    while True:
        state = cluster.run("sinfo", "-h", "-n", node, "-o", "%t").stdout.strip()
        if state == "idle":
            return cluster, pidfiles
        if time.monotonic() > deadline:
            log = (root / "log" / "slurmctld.log").read_text()[-2000:]
            raise RuntimeError(f"the Slurm node is {state!r}, not idle, after 60 s:\n{log}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """A single-node Slurm cluster for the session; stopped (daemons and leftover jobs) at the end."""
    missing = [name for name in ("slurmctld", "slurmd", "munged", "sbatch") if _which(name) is None]
    reason = None
    if missing:
        reason = (f"Slurm is not installed ({', '.join(missing)} missing; "
                  "Debian: apt-get install slurm-wlm munge)")
    elif os.geteuid() != 0:
        reason = "the test Slurm cluster runs slurmd as root"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {reason}: .ci/run installs Slurm and runs the tests as root")
        pytest.skip(reason)
    # A short path: munge's socket path must stay under 108 bytes.
    root = Path(tmp_path_factory.mktemp("slurm"))
    pidfiles: list[Path] = [root / "munge" / "munged.pid", root / "slurmctld.pid", root / "slurmd.pid"]
    try:
        cluster, pidfiles = _start(root)
        yield cluster
    finally:
        env = {**os.environ, "SLURM_CONF": str(root / "slurm.conf")}
        if (root / "slurmctld.pid").exists():
            subprocess.run(["scancel", "--full", "--quiet", "--user", "root"], env=env, capture_output=True,
                           timeout=30, check=False)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                queue = subprocess.run(["squeue", "-h", "-o", "%i"], env=env, capture_output=True, text=True,
                                       timeout=30, check=False)
                if queue.returncode != 0 or not queue.stdout.strip():
                    break
                time.sleep(0.5)
        for pidfile in reversed(pidfiles):  # slurmd, slurmctld, munged
            pid = _pid(pidfile)
            if pid is not None:
                _stop(pid)
        for pid in _processes_using(root / "slurm.conf"):  # a job step that outlived slurmd
            os.kill(pid, signal.SIGKILL)
