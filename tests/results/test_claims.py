"""Claims, planned runs, statuses and leftovers of a store (real processes, real Zarr on disk)."""

import json
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

import results
from results import claims
from results.batch import group_attributes, write_group
from results.claims import Holder
from results.store import BATCHES, TMP
from results.testing import synthetic_record, write_synthetic_runs


def _dead_process() -> tuple[int, str]:
    """A pid and start time of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    started = claims.process_start(proc.pid)
    proc.kill()
    proc.wait()
    return proc.pid, started


def test_a_claim_is_alive_while_its_process_lives():
    me = Holder.this_process()
    assert claims.is_alive(me.record([], time.time()))
    pid, started = _dead_process()
    assert started, "the start time of a running process must be known"
    dead = Holder("0" * 12, me.host, me.boot_id, pid, started)
    assert not claims.is_alive(dead.record([], time.time())), "no process matches: dead"
    reused = Holder("1" * 12, me.host, me.boot_id, os.getpid(), "1")
    assert not claims.is_alive(reused.record([], time.time())), "a pid of another process start: dead"
    rebooted = Holder("2" * 12, me.host, "another-boot", os.getpid(), me.start_time)
    assert not claims.is_alive(rebooted.record([], time.time())), "the host rebooted since: dead"


def test_a_claim_of_another_host_dies_when_it_is_not_refreshed():
    other = Holder("3" * 12, socket.gethostname() + "-elsewhere", "b", 1, "1")
    assert claims.is_alive(other.record([], time.time() - 60))
    assert not claims.is_alive(other.record([], time.time() - claims.STALE_S - 1))


def _tmp_group(store: results.SweepStore, holder: str, number: int) -> str:
    """What a writer holding ``holder`` leaves when it dies before publishing: a temporary group."""
    record = synthetic_record(number)
    name = f"{TMP}{'9' * 16}-{holder}-{uuid.uuid4().hex[:8]}"
    write_group(store.url_of(BATCHES, name), [record], group_attributes([record], "now"))
    return record.run_id


def test_every_planned_run_has_a_status(tmp_path):
    url = tmp_path / "s.zarr"
    done = write_synthetic_runs(url, [0])
    store = results.SweepStore(url)
    live, dead = Holder.this_process(), Holder("0" * 12, socket.gethostname(), claims.boot_id(),
                                               *_dead_process())
    planned = [synthetic_record(n).run_id for n in range(6)]
    store.record_plan({rid: [f"seed={n}"] for n, rid in enumerate(planned)})
    store.write_failure(planned[1], params={}, overrides=["seed=1"], error="RuntimeError: boom")
    store.claim(live, [planned[2]])
    store.claim(dead, [planned[3], planned[4]])
    assert _tmp_group(store, dead.id, 3) == planned[3]  # its writer died mid-write
    assert _tmp_group(store, live.id, 5) == planned[5]  # being written by a live sweep
    status = store.status()
    want = ["done", "failed", "running", "incomplete", "missing", "missing"]
    assert [status[r] for r in planned] == want, status
    assert done == [planned[0]]
    assert store.planned_runs()[planned[4]] == ["seed=4"]


def test_leftovers_of_dead_writers_are_removed_and_nothing_else(tmp_path):
    url = tmp_path / "s.zarr"
    write_synthetic_runs(url, [0, 1])
    store = results.SweepStore(url)
    live, dead = Holder.this_process(), Holder("0" * 12, socket.gethostname(), claims.boot_id(),
                                               *_dead_process())
    store.claim(live, [synthetic_record(5).run_id])
    store.claim(dead, [synthetic_record(3).run_id])
    _tmp_group(store, dead.id, 3)
    _tmp_group(store, live.id, 5)
    (url / "notes.txt").write_text("a user's note inside the store")
    before = {str(p.relative_to(url)) for p in url.rglob("*")}
    removed = store.remove_leftovers()
    after = {str(p.relative_to(url)) for p in url.rglob("*")}
    gone = {p for p in before - after if not any(p.startswith(f"{g}/") for g in removed)}
    assert gone == {f"claims/{dead.id}.json", *[g for g in removed if g.startswith("batches/")]}, gone
    assert [g for g in removed if g.startswith("batches/.tmp-")] and all(dead.id in g for g in removed
                                                                         if g.startswith("batches/")), removed
    assert (url / "notes.txt").read_text() == "a user's note inside the store"
    assert any(live.id in p.name for p in (url / "batches").iterdir()), "a live writer's group must stay"
    assert sorted(json.loads((url / "claims" / f"{live.id}.json").read_text())["runs"]) == \
        [synthetic_record(5).run_id]
    # At the end of its sweep a holder removes its own workers' leftovers, and its claim.
    store.remove_leftovers(own=live)
    store.release(live)
    assert not [p for p in (url / "batches").iterdir() if p.name.startswith(TMP)]
    assert not [p for p in (url / "claims").iterdir() if p.suffix == ".json"]
    assert sorted(store.status().values()) == ["done", "done"]


@pytest.mark.parametrize("holder", [None, "abcdef012345"])
def test_writes_name_their_holder_in_the_temporary_group(tmp_path, monkeypatch, holder):
    store = results.SweepStore(tmp_path / "s.zarr")
    seen = []
    publish = results.SweepStore._publish

    def spy(self, name, tmp, run_ids):
        seen.append(tmp)
        return publish(self, name, tmp, run_ids)

    monkeypatch.setattr(results.SweepStore, "_publish", spy)
    store.write_batch([synthetic_record(0)], holder=holder)
    assert seen and seen[0].split("-")[2] == (holder or "noclaim"), seen
