"""The design in the store's root attributes: one design per store, kept under many writers, old stores read.

The command-line side (a resumed sweep keeps the design, another design exits 2, a store of the
previous version is reported and moved) is in ``tests/harness/test_design.py``.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
import zarr
from hydra.core.override_parser.overrides_parser import OverridesParser

import results
from harness.design.plan import differences, make_plan


def record(*overrides: str, n: int = 8, seed: int = 0) -> dict[str, Any]:
    parsed = OverridesParser.create().parse_overrides(["cycles=12", *overrides])
    return make_plan(list(parsed), method="lhs", n=n, seed=seed).record("takeoff -m ...")


def keep(url: str, design: dict[str, Any]) -> str:
    """In another process: open (or create) the store and keep ``design``; say what happened."""
    try:
        return "wrote" if results.SweepStore(url).keep_design(design, differences) else "kept"
    except results.DesignConflict as err:
        return f"refused: {err}"


def test_sweeps_of_different_designs_started_at_once_leave_one_design(tmp_path: Path) -> None:
    """Three processes create one store and keep their designs (two equal): one design, the other refused."""
    url = str(tmp_path / "s.zarr")
    designs = [record("loop.propose.rate=interval(0.05,0.2)", seed=s) for s in range(2)]
    designs.append(designs[0])  # a second sweep of the first design at the same time
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        said = pool.starmap(keep, [(url, d) for d in designs])
    stored = results.SweepStore(url, create=False).design()
    assert stored in designs
    assert said.count("wrote") == 1, said
    for i, answer in enumerate(said):
        if designs[i] == stored:
            assert answer in ("wrote", "kept"), said
        else:
            assert answer.startswith("refused: ") and "holds another design" in answer, said
            assert f"seed ({designs[i]['seed']} here, {stored['seed']} in the store)" in answer


def test_a_design_in_the_previous_versions_design_json_is_read_checked_and_copied(tmp_path: Path) -> None:
    store = results.SweepStore(tmp_path / "s.zarr")
    old = record("loop.propose.rate=interval(0.05,0.2)")
    (tmp_path / "s.zarr" / "design.json").write_text(json.dumps(old))
    assert store.design() == old

    other = record("loop.propose.rate=interval(0.05,0.3)")
    with pytest.raises(results.DesignConflict, match=r"differs in parameters \(loop.propose.rate="
                                                     r"interval\(0.05,0.3\) here, loop.propose.rate="
                                                     r"interval\(0.05,0.2\) in the store\)"):
        store.keep_design(other, differences)
    assert "design" not in zarr.open_group(store.url, mode="r").attrs  # nothing written

    # the same design, with a store= override the fill command adds: kept, and copied into the attributes
    same = old | {"fixed": [*old["fixed"], f"store={store.url}"], "command": "another command"}
    assert store.keep_design(same, differences) is False
    assert zarr.open_group(store.url, mode="r").attrs["design"] == old
    (tmp_path / "s.zarr" / "design.json").write_text("{broken")
    assert store.design() == old  # the attributes come first


def test_an_unreadable_design_json_is_named(tmp_path: Path) -> None:
    store = results.SweepStore(tmp_path / "s.zarr")
    (tmp_path / "s.zarr" / "design.json").write_text("{broken")
    with pytest.raises(results.StoreError, match="design.json.*cannot be read.*new store= path"):
        store.design()
