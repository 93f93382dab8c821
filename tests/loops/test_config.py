"""Bad input fails before anything is simulated, naming the key, the value and what is allowed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loops.params import ConfigError
from tests.loops.conftest import compose

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(("override", "message"), [
    ("loop.propose.rate=-1", "loop.propose.rate=-1.0 is out of range; allowed: [0, 10] (ability/cycle)"),
    ("loop.replicate.rho=1.5", "loop.replicate.rho=1.5 is out of range; allowed: [0, 1] (1/cycle)"),
    ("seeds=0", "seeds=0 is out of range; allowed: [1, 1e+06] (worlds)"),
    ("capacity.home=0", "capacity.home=0 is out of range"),
    ("tasks.suite=nope", "tasks.suite='nope' is unknown; known: ['saturating', 'heavy_tail']"),
    ("instance.tools=[laser]", "instance.tools has unknown tool 'laser'"),
    ("record.every=500", "record.every=500 exceeds cycles=200"),
])
def test_out_of_range_values_name_key_value_and_range(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        compose(override)
    assert message in str(err.value)


@pytest.mark.parametrize(("override", "message"), [
    ("loop.propose.rate=-3", "loop.propose.rate=-3.0 is out of range; allowed: [0, 10]"),
    ("loop.guard.mode=sometimes", "Invalid value 'sometimes', expected one of [none, in_loop, external]"),
    ("loop.nope=1", "Key 'nope' not in 'LoopConfig'"),
])
def test_the_command_line_reports_bad_input_without_a_traceback(tmp_path: Path, override: str,
                                                                message: str) -> None:
    done = subprocess.run([str(BIN / "takeoff"), override], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.rglob("results.zarr")), "a run was written despite the bad input"


def _replace(obj: object, key: str, value: object) -> object:
    import dataclasses

    head, _, rest = key.partition(".")
    inner = getattr(obj, head)
    return dataclasses.replace(obj, **{head: _replace(inner, rest, value) if rest else value})  # type: ignore[type-var]


def _outside(bounds: object, integer: bool) -> list[float]:
    """Return values just outside each declared bound (one per side that has one)."""
    step = 1 if integer else 1e-6
    out: list[float] = []
    ge, le, gt, lt = (getattr(bounds, side) for side in ("ge", "le", "gt", "lt"))
    if ge is not None:
        out.append(ge - step * max(1, abs(ge)) if not integer else ge - 1)
    if gt is not None:
        out.append(gt)
    if le is not None:
        out.append(le + step * max(1, abs(le)) if not integer else le + 1)
    if lt is not None:
        out.append(lt)
    return out


def test_every_declared_range_is_enforced() -> None:
    from harness.config import RunConfig, validate
    from loops.params import check_ranges, iter_fields

    checked = 0
    for key, field, default in iter_fields(RunConfig()):
        bounds = field.metadata.get("bounds")
        if bounds is None:
            continue
        assert bounds.ge is not None or bounds.gt is not None, f"{key} has no lower bound"
        integer = isinstance(default, int) and not isinstance(default, bool)
        for value in _outside(bounds, integer):
            with pytest.raises(ConfigError, match=f"^{key}=.* is out of range; allowed: "):
                check_ranges(_replace(RunConfig(), key, value))
            checked += 1
        inside = bounds.ge if bounds.ge is not None else bounds.le
        if inside is not None and bounds.allows(inside):
            check_ranges(_replace(RunConfig(), key, int(inside) if integer else inside))
    validate(RunConfig())
    assert checked >= 90, checked  # 94 bounds on 2026-11-25: a field added without one fails above
