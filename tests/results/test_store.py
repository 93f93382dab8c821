import json
import math
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

import results
from results import schema
from results.batch import group_attributes, write_group
from results.store import BATCHES, NO_CLAIM
from results.testing import (
    assert_schema,
    assert_sweeps_equal,
    synthetic_config,
    synthetic_record,
    synthetic_run,
    write_synthetic_runs,
)


@pytest.fixture(scope="module")
def simulated():
    """One real simulation (tiny), as the harness builds it, with record.every = 2."""
    from harness.config import RunConfig
    from harness.suites import build_suite
    from loops import simulate

    run = RunConfig(seeds=3, cycles=40)
    traj = simulate(run.world(), build_suite(run.tasks), cycles=run.cycles, run_seed=run.seed,
                    seed_indices=range(run.seeds), record_every=2)
    return results.run_dataset(traj.arrays(), seed=traj.seed, cycle=traj.cycle, domain=traj.domain)


def _write(store, ds, number=0, **params):
    config = {"n": number, **params}
    rid = results.run_id(config)
    wrote = store.write_run(rid, ds, params=params, config_yaml=yaml.safe_dump(config),
                            overrides=[f"{k}={v}" for k, v in params.items()], config=config)
    return rid, wrote


def _quiet_open(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return results.open_sweep(path)


def test_round_trip_of_a_simulated_run(tmp_path, simulated):
    assert simulated.cycle.values.tolist() == list(range(0, 40, 2)), "record.every=2 keeps even cycles"
    store = results.SweepStore(tmp_path / "s.zarr")
    rid, wrote = _write(store, simulated, **{"loop.guard.mode": "in_loop"})
    assert wrote
    sweep = _quiet_open(tmp_path / "s.zarr")
    assert_schema(sweep, with_run=True)
    assert dict(sweep.sizes) == {"run": 1, "seed": 3, "cycle": 20, "domain": 3}
    assert all(sweep[n].chunks is not None for n in schema.VARIABLES), "open_sweep must be lazy"
    got = sweep.isel(run=0).reset_coords(drop=True).compute()
    got.attrs = {}
    xr.testing.assert_identical(got, simulated)
    assert sweep.run_id.values.tolist() == [rid]
    assert sweep["loop.guard.mode"].values.tolist() == ["in_loop"]
    assert sweep["model_digest"].values.tolist() == [""], "no model_digest in the config: empty"
    one = store.open_run(rid)
    one.attrs = {}
    xr.testing.assert_identical(one, simulated)
    # The batch group keeps the run's identity, and every chunk carries zarr's crc32c codec.
    import zarr

    (name,) = os.listdir(tmp_path / "s.zarr" / "batches")
    group = zarr.open_group(str(tmp_path / "s.zarr" / "batches" / name), mode="r")
    assert group.attrs["runs"]["run_id"] == [rid]
    assert group.attrs["runs"]["params"] == [{"loop.guard.mode": "in_loop"}]
    for _, array in group.arrays():
        (sharding,) = array.metadata.codecs
        assert type(sharding).__name__ == "ShardingCodec", array.metadata.codecs
        assert "Crc32cCodec" in [type(c).__name__ for c in sharding.codecs], sharding.codecs
        assert "Crc32cCodec" in [type(c).__name__ for c in sharding.index_codecs], sharding.index_codecs


def test_provenance_attributes(tmp_path, simulated):
    store = results.SweepStore(tmp_path / "s.zarr")
    rid, _ = _write(store, simulated, seeds=3)
    attrs = _quiet_open(tmp_path / "s.zarr").attrs
    assert attrs["schema_version"] == schema.SCHEMA_VERSION
    assert attrs["package_version"] not in ("", None)
    assert attrs["created"]
    # The revision of the checkout the package runs from, and whether it had uncommitted edits.
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(results.__file__).parent,
                          capture_output=True, text=True, check=False)
    assert attrs["git_revision"] == (head.stdout.strip() if head.returncode == 0 else "")
    if head.returncode == 0:
        assert len(attrs["git_revision"]) == 40 and isinstance(attrs["git_dirty"], bool), attrs
        assert len(attrs["git_diff_sha256"]) == (64 if attrs["git_dirty"] else 0), attrs
    assert yaml.safe_load(json.loads(attrs["configs"])[rid]) == {"n": 0, "seeds": 3}
    assert json.loads(attrs["overrides"])[rid] == ["seeds=3"]


def test_write_is_idempotent_and_status_reports(tmp_path):
    store = results.SweepStore(tmp_path / "s.zarr")
    rid, wrote = _write(store, synthetic_run(1))
    assert wrote
    assert store.write_run(rid, synthetic_run(1), params={}, config_yaml="", overrides=[]) is False
    store.write_failure("f" * 16, params={"x": 1}, config_yaml="", overrides=["x=1"],
                        error="RuntimeError: boom")
    assert store.status() == {rid: "done", "f" * 16: "failed"}
    # A failure record never hides a run that completed later (a retried job).
    store.write_failure(rid, params={}, config_yaml="", overrides=[], error="first attempt died")
    assert store.status()[rid] == "done"


def test_parameter_coordinates_have_natural_types_and_fill_from_config(tmp_path):
    url = tmp_path / "s.zarr"
    write_synthetic_runs(url, range(6))
    sweep = _quiet_open(url)
    configs = {results.run_id(synthetic_config(n)): synthetic_config(n) for n in range(6)}
    assert sweep["seed"].dims == ("seed",), "the run seed must not replace the seed dimension"
    assert sweep["run.seed"].values.tolist() == [configs[r]["seed"] for r in sweep.run_id.values]
    assert json.loads(sweep.attrs["parameters"])["seed"] == "run.seed"
    assert sweep["loop.guard.mode"].dtype == object
    returns = sweep["loop.propose.returns"]
    assert returns.dtype == np.float64, "a float parameter must stay float"
    for rid, value in zip(sweep.run_id.values, returns.values, strict=True):
        # Even-numbered runs did not override returns: the value comes from their resolved config.
        assert value == configs[rid]["loop"]["propose"]["returns"], f"run {rid}"
    assert list(sweep.run_id.values) == sorted(configs), "runs are ordered by run_id"


def test_bool_and_int_parameters(tmp_path):
    store = results.SweepStore(tmp_path / "s.zarr")
    for n in range(2):
        _write(store, synthetic_run(n), number=n, **{"loop.evaluate.enabled": bool(n), "seeds": 2 + n})
    sweep = _quiet_open(tmp_path / "s.zarr")
    assert sweep["loop.evaluate.enabled"].dtype == bool
    assert sweep["seeds"].dtype == np.int64


def test_failed_and_incomplete_runs_are_left_out_with_a_warning(tmp_path):
    url = tmp_path / "s.zarr"
    ids = write_synthetic_runs(url, range(3))
    store = results.SweepStore(url)
    store.write_failure("deadbeefdeadbeef", params={"loop.guard.mode": "none"}, config_yaml="",
                        overrides=["loop.guard.mode=none"], error="ValueError: bad luck")
    # What a writer killed mid-write leaves behind: a temporary group.
    record = synthetic_record(9)
    write_group(store.url_of(BATCHES, f".tmp-{'9' * 16}-{NO_CLAIM}-{uuid.uuid4().hex[:8]}"), [record],
                group_attributes([record], "now"))
    assert store.status()[record.run_id] == "incomplete"
    with pytest.warns(UserWarning, match=r"2 runs left out \(1 failed, 1 incomplete; 3 complete\)"):
        sweep = results.open_sweep(url)
    assert sorted(sweep.run_id.values) == sorted(ids)
    table = results.failures(url)
    assert table.run_id.tolist() == ["deadbeefdeadbeef"]
    assert table.error.tolist() == ["ValueError: bad luck"]
    assert table["loop.guard.mode"].tolist() == ["none"]


def test_consolidated_index_gives_the_same_sweep(tmp_path):
    url = tmp_path / "s.zarr"
    write_synthetic_runs(url, range(5))
    before = _quiet_open(url)
    results.SweepStore(url).consolidate()
    assert (url / "index.json").is_file()
    assert_sweeps_equal(_quiet_open(url), before)
    (new,) = write_synthetic_runs(url, [5])  # completed after consolidation: still found
    after = _quiet_open(url)
    assert sorted(after.run_id.values) == sorted([*before.run_id.values, new])


def test_runs_of_different_shapes_align_on_the_union(tmp_path):
    url = tmp_path / "s.zarr"
    store = results.SweepStore(url)
    short, long = synthetic_run(0, seeds=2, cycles=6), synthetic_run(1, seeds=3, cycles=10)
    rid_short, _ = _write(store, short, number=0, cycles=6)
    rid_long, _ = _write(store, long, number=1, cycles=10)
    sweep = _quiet_open(url)
    assert dict(sweep.sizes) == {"run": 2, "seed": 3, "cycle": 10, "domain": 3}
    s = sweep.sel(run=sweep.run_id == rid_short).isel(run=0).reset_coords(drop=True).compute()
    xr.testing.assert_equal(s.score.sel(seed=[0, 1], cycle=range(6)), short.score)
    assert np.isnan(s.score.sel(cycle=range(6, 10))).all(), "cycles a run lacks must be NaN"
    assert (s.diverged_cycle.sel(seed=2) == -1).all(), "missing diverged_cycle fills with -1"


def test_memory_url_round_trip():
    url = f"memory://takeoff-test-{uuid.uuid4().hex}/s.zarr"
    ids = write_synthetic_runs(url, range(3))
    assert results.SweepStore(url).status() == dict.fromkeys(ids, "done")
    sweep = _quiet_open(url)
    assert sorted(sweep.run_id.values) == sorted(ids)
    got = sweep.sel(run=sweep.run_id == results.run_id(synthetic_config(1))).isel(run=0)
    got = got.reset_coords(drop=True).compute()
    got.attrs = {}
    xr.testing.assert_identical(got, synthetic_run(1))
    results.SweepStore(url).consolidate()
    assert_sweeps_equal(_quiet_open(url), sweep)


# -- refusing paths ------------------------------------------------------------------------------

def _snapshot(root):
    return {os.path.relpath(os.path.join(d, f), root): open(os.path.join(d, f), "rb").read()
            for d, _, files in os.walk(root) for f in files} | {
            os.path.relpath(d, root): None for d, _, _ in os.walk(root)}


@pytest.mark.parametrize("content", ["user files", "foreign zarr group"])
def test_foreign_directory_is_refused_and_untouched(tmp_path, content):
    target = tmp_path / "mine"
    target.mkdir()
    if content == "user files":
        (target / "notes.txt").write_text("my thesis")
        (target / "runs").mkdir()
    else:
        import zarr

        zarr.open_group(str(target), mode="w", zarr_format=3).attrs["owner"] = "someone else"
    before = _snapshot(target)
    with pytest.raises(results.StoreError, match=r"mine' exists and is not a takeoff store"):
        results.SweepStore(target)
    with pytest.raises(results.StoreError, match="not a takeoff store"):
        results.open_sweep(target)
    assert _snapshot(target) == before, "a refused directory must be left exactly as it was"


def test_other_schema_version_is_refused(tmp_path):
    url = tmp_path / "s.zarr"
    write_synthetic_runs(url, [0])
    meta = json.loads((url / "zarr.json").read_text())
    meta["attributes"]["takeoff"]["schema_version"] = 3
    (url / "zarr.json").write_text(json.dumps(meta))
    before = _snapshot(url)
    for opener in (results.SweepStore, results.open_sweep):
        with pytest.raises(results.StoreError, match=r"s.zarr' is a takeoff store of schema version 3"):
            opener(url)
    assert _snapshot(url) == before


def test_path_that_is_a_file_or_inside_one(tmp_path):
    file = tmp_path / "a.txt"
    file.write_text("x")
    with pytest.raises(results.StoreError, match=r"a.txt' is a file"):
        results.SweepStore(file)
    with pytest.raises(results.StoreError, match=r"lies inside the file .*a.txt"):
        results.SweepStore(file / "sub" / "s.zarr")
    assert file.read_text() == "x"


def test_missing_store_when_reading(tmp_path):
    with pytest.raises(results.StoreError, match="no takeoff store at .*nothing"):
        results.open_sweep(tmp_path / "nope.zarr")
    assert not (tmp_path / "nope.zarr").exists(), "reading must not create a store"


def test_empty_store_has_no_runs(tmp_path):
    results.SweepStore(tmp_path / "s.zarr")
    with pytest.raises(results.StoreError, match="holds no complete run"):
        results.open_sweep(tmp_path / "s.zarr")


def _create_store_unprivileged(path: str, answer) -> None:
    """In a forked child: drop root's privileges (tests run as root), then try to create a store."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    try:
        results.SweepStore(path)
        answer.send(f"created (uid {os.geteuid()})")
    except results.StoreError as err:
        answer.send(f"StoreError (uid {os.geteuid()}): {err}")


def _as_unprivileged(path) -> str:
    # Forked, not exec'd: the interpreter may live where an unprivileged user cannot run it.
    ctx = multiprocessing.get_context("fork")
    receive, answer = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_create_store_unprivileged, args=(str(path), answer))
    child.start()
    child.join(60)
    assert child.exitcode == 0, f"child exited with {child.exitcode}"
    return str(receive.recv())


NOBODY = 65534


def test_unwritable_directory_chmod():
    # tmp_path lies under a root-only directory: use a directory anyone may enter.
    top = Path(tempfile.mkdtemp(prefix="takeoff-chmod-"))
    try:
        top.chmod(0o755)
        locked, open_ = top / "locked", top / "open"
        locked.mkdir(mode=0o555)
        locked.chmod(0o555)
        open_.mkdir()
        open_.chmod(0o777)
        refused = _as_unprivileged(locked / "s.zarr")
        assert "StoreError" in refused and "not writable" in refused and str(locked) in refused, refused
        assert "uid 0)" not in refused, "the check must run without root's privileges"
        assert list(locked.iterdir()) == []
        # The same unprivileged process may create a store where it can write.
        assert _as_unprivileged(open_ / "s.zarr").startswith("created"), "control case failed"
    finally:
        shutil.rmtree(top)


def test_unwritable_directory_read_only_file_system():
    # /sys refuses new entries even to root (the case the chmod test cannot cover).
    with pytest.raises(results.StoreError, match=r"/sys/takeoff-test.zarr"):
        results.SweepStore("/sys/takeoff-test.zarr")


def test_long_runs_are_chunked_along_cycle_and_read_back(tmp_path, monkeypatch):
    import zarr

    import results.batch

    monkeypatch.setattr(results.batch, "CHUNK_ELEMENTS", 50)  # force several chunks along cycle
    ds = synthetic_run(4, seeds=3, cycles=40)
    store = results.SweepStore(tmp_path / "s.zarr")
    rid, _ = _write(store, ds)
    (name,) = os.listdir(tmp_path / "s.zarr" / "batches")
    array = zarr.open_array(str(tmp_path / "s.zarr" / "batches" / name
                                / "trajectory-seed_cycle_domain-float32"))
    assert array.chunks == (1, 1, 3, 5, 3), array.chunks
    assert array.shards == (1, 4, 3, 40, 3), array.shards
    one = store.open_run(rid)
    one.attrs = {}
    xr.testing.assert_identical(one, ds)


def test_a_batch_of_runs_is_one_group_of_few_files(tmp_path):
    url = tmp_path / "s.zarr"
    ids = write_synthetic_runs(url, range(16), batch_size=16)
    files = [p for p in url.rglob("*") if p.is_file()]
    assert len(files) / 16 <= 1.5, f"{len(files)} files for 16 runs: {sorted(map(str, files))}"
    assert len(os.listdir(url / "batches")) == 1
    alone = tmp_path / "alone.zarr"
    write_synthetic_runs(alone, range(16))
    assert_sweeps_equal(_quiet_open(url), _quiet_open(alone))
    assert sorted(_quiet_open(url).run_id.values) == sorted(ids)


def test_a_large_batch_is_several_shards_along_run_and_reads_the_same(tmp_path, monkeypatch):
    # Each shard is stacked and written from its own block of at most SHARD_BYTES (a block the
    # worker's heap keeps): a batch larger than that is several shards of whole inner chunks.
    import zarr

    import results.batch

    monkeypatch.setattr(results.batch, "SHARD_BYTES", 20_000)
    monkeypatch.setattr(results.batch, "MIN_CHUNK_ELEMENTS", 1_000)
    url = tmp_path / "s.zarr"
    write_synthetic_runs(url, range(23), batch_size=23, seeds=4, cycles=50)
    (name,) = os.listdir(url / "batches")
    group = url / "batches" / name
    array = zarr.open_array(str(group / "trajectory-seed_cycle-float32"))
    runs = array.shards[0]
    assert 1 < runs < 23 and runs % array.chunks[0] == 0, (array.shards, array.chunks)
    assert array.shards[0] * math.prod(array.shards[1:]) * 4 <= 20_000 or runs == array.chunks[0]
    shards = sorted(p.name for p in (group / "trajectory-seed_cycle-float32").glob("c.*"))
    assert len(shards) == math.ceil(23 / runs), shards
    monkeypatch.undo()
    whole = tmp_path / "whole.zarr"
    write_synthetic_runs(whole, range(23), batch_size=23, seeds=4, cycles=50)
    assert len(list((whole / "batches").rglob("trajectory-seed_cycle-float32/c.*"))) == 1
    assert_sweeps_equal(_quiet_open(url), _quiet_open(whole))


def test_runs_of_several_shapes_in_one_batch_become_one_group_each(tmp_path):
    store = results.SweepStore(tmp_path / "s.zarr")
    records = [synthetic_record(0), synthetic_record(1, cycles=6), synthetic_record(2)]
    assert store.write_batch(records) == [True, True, True]
    assert len(os.listdir(tmp_path / "s.zarr" / "batches")) == 2
    sweep = _quiet_open(tmp_path / "s.zarr")
    got = sweep.sel(run=sweep.run_id == records[1].run_id).isel(run=0).reset_coords(drop=True)
    xr.testing.assert_equal(got.score.sel(cycle=range(6)).compute(), records[1].data.score)


def test_a_flipped_byte_is_an_error_naming_the_run_never_a_number(tmp_path):
    url = tmp_path / "s.zarr"
    (rid,) = write_synthetic_runs(url, [3], seeds=4, cycles=200)
    (name,) = os.listdir(url / "batches")
    (shard,) = (url / "batches" / name / "trajectory-seed_cycle_domain-float32").glob("c.*")
    data = bytearray(shard.read_bytes())
    data[100] ^= 0xFF
    shard.write_bytes(bytes(data))
    sweep = _quiet_open(url)
    with pytest.raises(results.DamagedRunError, match=rf"run {rid} \(seed=3 .*checksum") as err:
        sweep["score"].values  # noqa: B018
    assert err.value.run_ids == (rid,)


def test_model_digest_is_a_coordinate_along_run(tmp_path):
    store = results.SweepStore(tmp_path / "s.zarr")
    for n, digest in enumerate(["aaaa", "bbbb"]):
        config = {"n": n, "model_digest": digest}
        store.write_run(results.run_id(config), synthetic_run(n), params={}, overrides=[], config=config)
    sweep = _quiet_open(tmp_path / "s.zarr")
    by_id = dict(zip(sweep.run_id.values, sweep.model_digest.values, strict=True))
    assert sorted(by_id.values()) == ["aaaa", "bbbb"]


def _v1_store(url, numbers):
    """A store as takeoff wrote it with schema v1: one xarray-written group per run, no checksums."""
    import zarr

    zarr.open_group(str(url), mode="w-", zarr_format=3,
                    attributes={"takeoff": {"schema_version": 1, "package_version": "0.1.0",
                                            "git_revision": "", "created": "2026-11-01T00:00:00+00:00"}})
    for sub in ("runs", "done", "failed"):
        (url / sub).mkdir()
    ids = []
    for n in numbers:
        config = synthetic_config(n)
        rid = results.run_id(config)
        ds = synthetic_run(n)
        ds.attrs = {"run_id": rid, "params": json.dumps({"seed": n}), "config": json.dumps(config),
                    "config_yaml": yaml.safe_dump(config), "overrides": json.dumps([f"seed={n}"])}
        ds.to_zarr(str(url / "runs" / rid), zarr_format=3, consolidated=False)
        (url / "done" / rid).write_text(rid)
        ids.append(rid)
    return ids


def test_a_schema_v1_store_still_opens_with_a_warning_and_is_not_written(tmp_path, caplog):
    url = tmp_path / "old.zarr"
    ids = _v1_store(url, range(3))
    with caplog.at_level("WARNING"):
        sweep = _quiet_open(url)
    assert "carry no checksums" in caplog.text, caplog.text
    assert sweep.attrs["schema_version"] == 1
    assert sorted(sweep.run_id.values) == sorted(ids)
    new = tmp_path / "new.zarr"
    write_synthetic_runs(new, range(3))
    a, b = sweep.load(), _quiet_open(new).load()
    a.attrs, b.attrs = {}, {}
    xr.testing.assert_identical(a[list(schema.VARIABLES)].reset_coords(drop=True),
                                b[list(schema.VARIABLES)].reset_coords(drop=True))
    before = _snapshot(url)
    with pytest.raises(results.StoreError, match="schema v1, which this takeoff reads but does not extend"):
        write_synthetic_runs(url, [5])
    assert _snapshot(url) == before


@pytest.mark.parametrize(("dtype", "dims", "sizes"), [
    ("float32", ("seed", "cycle", "domain"), (16, 300, 3)),
    ("float32", ("seed", "cycle"), (16, 300)),
    ("float32", ("seed", "cycle"), (4, 400_000)),  # split along cycle
    ("int64", ("seed",), (16,)),
    ("float64", ("seed",), (7,)),
    ("str", ("seed",), (16,)),
    ("float32", ("cycle",), (300,)),
])
def test_array_metadata_of_any_batch_size_is_what_zarr_makes(dtype, dims, sizes):
    # A batch size not seen before gets metadata derived from zarr's for another size: it must
    # be exactly what zarr's create_array makes for that size (shape, shard, inner chunk, codecs).
    from results.batch import _array_metadata, _chunking, _zarr_metadata

    for runs in (1, 2, 5, 17, 18, 19, 40, 150):
        for variables in (1, 4, 28):
            shape = (runs, variables, *sizes)
            chunk, shard = _chunking(shape, dims)
            derived = _array_metadata("a", shape, dtype, dims, chunk, shard)
            made = _zarr_metadata("a", shape, dtype, dims, chunk, shard)
            assert derived.to_dict() == made.to_dict(), (shape, chunk, shard)


def test_groups_written_with_an_earlier_codec_still_read(tmp_path, monkeypatch):
    # Stores written before the switch to Blosc hold zstd-compressed groups; zarr reads the
    # codec from each array's metadata, so one sweep may hold both.
    import zarr
    from zarr.codecs import Crc32cCodec, ZstdCodec

    import results.batch

    url = tmp_path / "mixed.zarr"
    monkeypatch.setattr(results.batch, "compressors", lambda: (ZstdCodec(level=1), Crc32cCodec()))
    results.batch._array_metadata.cache_clear()
    results.batch._zarr_metadata.cache_clear()
    try:
        write_synthetic_runs(url, range(4), batch_size=4, seeds=3, cycles=30)
    finally:
        monkeypatch.undo()
        results.batch._array_metadata.cache_clear()
        results.batch._zarr_metadata.cache_clear()
    write_synthetic_runs(url, range(4, 8), batch_size=4, seeds=3, cycles=30)
    codecs = set()
    for group in (url / "batches").iterdir():
        array = zarr.open_array(str(group / "trajectory-seed_cycle-float32"), mode="r")
        codecs |= {type(c).__name__ for c in array.metadata.codecs[0].codecs}
    assert {"ZstdCodec", "BloscCodec"} <= codecs, codecs
    same = tmp_path / "same.zarr"
    write_synthetic_runs(same, range(8), batch_size=4, seeds=3, cycles=30)
    assert_sweeps_equal(_quiet_open(url).load(), _quiet_open(same).load())
    assert set(results.verify(url).status) == {"done"}
