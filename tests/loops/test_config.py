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
