"""A compiled twin can never hide an edit (``loops/twins.py``, ``loops/compiled/twins.json``).

The first test fails in the repository whenever a stage, a module it imports
or a twin changed without the record being renewed; its message says what to
do. The last one edits a copy of the source tree the way the README invites a
user to, and runs ``takeoff`` on it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loops import sources, twins

ROOT = sources.ROOT
BIN = Path(sys.executable).parent


def test_every_twin_matches_the_sources_it_was_checked_against() -> None:
    changed = twins.differences()
    assert not changed, f"{twins.explain(changed)}: {twins.RENEW}"


def test_every_compiled_module_that_mirrors_numpy_code_is_tied() -> None:
    import loops.compiled as compiled

    registered = {fn.__module__ for fn in (compiled.KERNELS.get(n) for n in compiled.KERNELS.names())}
    assert registered | {"loops.compiled.compute", "loops.compiled.recorder"} <= set(twins.TWINS)
    on_disk = {f"loops.compiled.{p.stem}" for p in (ROOT / "loops" / "compiled").glob("*.py")}
    assert set(twins.TWINS) <= on_disk
    assert on_disk - set(twins.TWINS) == {"loops.compiled.__init__", "loops.compiled._jit"}


def test_the_tie_covers_the_stage_its_imports_transitively_and_the_twin() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in twins.tied_files("loops.compiled.propose")}
    # propose imports loops.stage, which imports loops.suite: a transitive import counts.
    assert {"loops/stages/propose.py", "loops/compiled/propose.py", "loops/stage.py",
            "loops/suite.py", "loops/elementary.py", "loops/tools.py"} <= files
    assert "loops/stages/replicate.py" not in files


def test_prose_does_not_count_and_code_does() -> None:
    code = b'"""Doc."""\nx = 1  # one\n\n\ndef f():\n    """Say."""\n    return x\n'
    assert sources.code_text(code) == sources.code_text(b"x = 1\ndef f():\n    return x\n")
    assert sources.code_text(code) != sources.code_text(code.replace(b"x = 1", b"x = 3"))


def _copy_tree(to: Path) -> Path:
    """Copy the packages and configs a run needs (not the Hydra plugin shims: the installed ones load)."""
    for name in ("loops", "harness", "results", "analysis", "conf"):
        shutil.copytree(ROOT / name, to / name, ignore=shutil.ignore_patterns("__pycache__"))
    return to


def _takeoff(tree: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop(twins.VERIFYING, None)  # a user's shell
    return subprocess.run([str(BIN / "takeoff"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def _runs(store: Path) -> dict[str, float]:
    """Return run id -> mean final ability of a store."""
    import results

    ds = results.open_sweep(store)
    final = ds.ability.isel(cycle=-1).mean(["seed", "domain"]).values
    return dict(zip(ds.run_id.values.tolist(), final.tolist(), strict=True))


@pytest.mark.slow
def test_an_edited_stage_is_run_and_recomputed_not_hidden(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path / "src")
    sweep = tmp_path / "sweep"
    args = ["-m", "seeds=4", "cycles=60", "loop.propose.returns=1.0,1.2", f"hydra.sweep.dir={sweep}",
            "hydra.launcher.cluster=sync"]
    # numpy: the same bits as the compiled engine (tests/loops/compiled), without compiling a new tree.
    before = _takeoff(tree, *args, "engine=numpy", cwd=tmp_path)
    assert before.returncode == 0, before.stderr[-3000:]
    old = _runs(sweep / "results.zarr")
    assert len(old) == 2

    propose = tree / "loops" / "stages" / "propose.py"
    text = propose.read_text()
    edited = text.replace("gain = cfg.rate * state.efficacy", "gain = 3.0 * cfg.rate * state.efficacy")
    assert edited != text
    propose.write_text(edited)

    refused = _takeoff(tree, *args, "engine=numba", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr[-3000:]
    assert "Traceback" not in refused.stderr
    assert "loops/stages/propose.py changed" in refused.stderr
    assert "python -m loops.twins --record" in refused.stderr

    after = _takeoff(tree, *args, cwd=tmp_path)  # engine=auto, the default
    assert after.returncode == 0, after.stderr[-3000:]
    output = after.stdout + after.stderr
    assert re.search(r"2 jobs, 0 already complete", output), output[-3000:]
    warnings = [line for line in output.splitlines() if "engine=auto runs the numpy stages" in line]
    assert len(warnings) == 1, output[-3000:]
    named = "loops/stages/propose.py changed since the compiled twins (compute, propose)"
    assert named in warnings[0], warnings
    new = {k: v for k, v in _runs(sweep / "results.zarr").items() if k not in old}
    assert len(new) == 2
    # Tripled gain: ability grows faster than before in both runs.
    assert sorted(new.values())[0] > sorted(old.values())[0]
    assert sorted(new.values())[1] > sorted(old.values())[1]
    assert not np.isin(list(new.values()), list(old.values())).any()

    # The store now holds two versions of the model: the report keeps them apart and says so.
    report = subprocess.run([str(BIN / "takeoff-report"), str(sweep / "results.zarr"), "--out",
                             str(tmp_path / "report")], capture_output=True, text=True, timeout=600)
    assert report.returncode == 0, report.stderr[-3000:]
    assert "runs of 2 versions of the model's code" in report.stdout, report.stdout
    variants = pd.read_csv(tmp_path / "report" / "variants.csv")
    assert len(variants) == 4, variants  # 2 returns x 2 model versions, none pooled
