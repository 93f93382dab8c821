"""The engines: numba and numpy give the same bits; ``auto`` falls back; bad names fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loops import engine, simulate
from loops.params import ConfigError
from loops.record import Trajectory
from loops.suite import BenchmarkSuite
from tests.loops.conftest import CONF, compose

VARIANTS = sorted(p.stem for p in Path(CONF, "loop").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in Path(CONF, "experiment").glob("*.yaml"))


def both(run_overrides: tuple[str, ...], suite: BenchmarkSuite, cycles: int | None = None,
         seeds: int | None = None) -> tuple[Trajectory, Trajectory]:
    run = compose(*run_overrides)
    kwargs = dict(cycles=cycles or run.cycles, run_seed=run.seed, seed_indices=range(seeds or run.seeds),
                  record_every=run.record.every)
    return (simulate(run.world(), suite, engine="numba", **kwargs),  # type: ignore[arg-type]
            simulate(run.world(), suite, engine="numpy", **kwargs))  # type: ignore[arg-type]


def assert_bit_identical(got: Trajectory, want: Trajectory, label: str) -> None:
    for name, values in want.arrays().items():
        other = got.arrays()[name]
        assert values.dtype == other.dtype, f"{label}: {name} dtype"
        same = values.view(f"u{values.itemsize}") == other.view(f"u{values.itemsize}")
        assert same.all(), f"{label}: {name} differs at {np.argwhere(~same)[:3].tolist()}"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_engines_agree_on_every_preset(experiment: str, suite: BenchmarkSuite) -> None:
    got, want = both((f"+experiment={experiment}",), suite, cycles=260, seeds=6)
    assert_bit_identical(got, want, experiment)


@pytest.mark.parametrize("variant", VARIANTS)
def test_engines_agree_on_every_loop_variant(variant: str, suite: BenchmarkSuite) -> None:
    got, want = both(("+experiment=story", f"loop={variant}", "instance.tools=[replicate,share]",
                      "model.t_net=30", "interventions.t_shutdown=120", "record.every=3"),
                     suite, cycles=150, seeds=6)
    assert_bit_identical(got, want, variant)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**40), returns=st.floats(0.3, 2.0), rate=st.floats(0.001, 0.3),
       sigma=st.floats(0.0, 2.0), rho=st.floats(0.0, 1.0),
       mode=st.sampled_from(["none", "in_loop", "external"]),
       evaluate=st.booleans(), checkpoint=st.booleans(), troubleshoot=st.booleans(),
       home=st.integers(1, 40), external=st.integers(0, 20), t_net=st.integers(0, 60),
       tools=st.sampled_from(["[]", "[replicate]", "[replicate,share,copy_external]", "[share,search]"]),
       suite_name=st.sampled_from(["saturating", "heavy_tail"]))
def test_engines_agree_on_random_configs(seed: int, returns: float, rate: float, sigma: float, rho: float,
                                         mode: str, evaluate: bool, checkpoint: bool, troubleshoot: bool,
                                         home: int, external: int, t_net: int, tools: str,
                                         suite_name: str) -> None:
    overrides = ("+experiment=story", f"seed={seed}", f"loop.propose.returns={returns}",
                 f"loop.propose.rate={rate}", f"loop.propose.sigma={sigma}", f"loop.replicate.rho={rho}",
                 f"loop.guard.mode={mode}", f"loop.evaluate.enabled={evaluate}",
                 f"loop.checkpoint.enabled={checkpoint}", f"loop.troubleshoot.enabled={troubleshoot}",
                 f"capacity.home={home}", f"capacity.external={external}", f"model.t_net={t_net}",
                 f"instance.tools={tools}", f"tasks={suite_name}", "instance.theta_max=12",
                 "interventions.t_shutdown=90")
    run = compose(*overrides)
    from harness.suites import build_suite

    got, want = both(overrides, build_suite(run.tasks), cycles=120, seeds=4)
    assert_bit_identical(got, want, " ".join(overrides))


def test_select_names_the_allowed_engines() -> None:
    assert engine.select("numpy").name == "numpy"
    assert engine.select("numba").name == "numba"
    assert engine.select("auto").name == "numba"  # numba is installed with the package
    with pytest.raises(ConfigError, match=r"engine='fast' is unknown; allowed: \['auto', 'numba', 'numpy'\]"):
        engine.select("fast")


def test_auto_falls_back_to_numpy_without_numba() -> None:
    # A fresh interpreter in which importing numba fails, as on a platform without it.
    code = (
        "import sys, logging; sys.modules['numba'] = None; logging.basicConfig(level=logging.WARNING)\n"
        "from loops import engine, simulate, WorldConfig\n"
        "from harness.suites import build_suite\nfrom harness.config import TasksConfig\n"
        "print(engine.select('auto').name)\n"
        "t = simulate(WorldConfig(), build_suite(TasksConfig()), cycles=3, run_seed=0, seed_indices=[0])\n"
        "print(t.score.shape)\n"
        "try:\n    engine.select('numba')\n"
        "except (ImportError, ValueError) as err:\n    print('numba refused:', err)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == ["numpy", "(1, 3, 3)"], done.stdout
    assert "numba refused" in done.stdout
    assert "numba is unavailable" in done.stderr and "running the numpy stages" in done.stderr


def test_simulate_takes_an_engine_object(suite: BenchmarkSuite) -> None:
    # The benchmark times the stages by passing an Engine whose functions count their calls.
    base = engine.select("numba")
    calls: dict[str, int] = {}

    def counted(name, fn):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls[name] = calls.get(name, 0) + 1
            return fn(*args, **kwargs)

        return call

    probe = engine.Engine("probe", {n: counted(n, f) for n, f in base.stages.items()},
                          counted("allocate", base.allocate), counted("observe", base.observe))
    run = compose("+experiment=story", "seeds=2")
    got = simulate(run.world(), suite, cycles=7, run_seed=0, seed_indices=range(2), engine=probe)
    want = simulate(run.world(), suite, cycles=7, run_seed=0, seed_indices=range(2), engine="numba")
    assert_bit_identical(got, want, "probe")
    assert calls == {name: 7 for name in [*base.stages, "allocate", "observe"]}


def test_same_bits_without_numpy_simd_loops(suite: BenchmarkSuite) -> None:
    # numpy picks SIMD loops by CPU (AVX2, AVX-512, ...); with all of them off it
    # behaves as on an older CPU. Our exp, log, normals and a whole run must not change.
    try:  # numpy 2 (numpy 1.26, which pyproject.toml allows, calls the package numpy.core)
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    found = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    if not found:
        pytest.skip("numpy dispatches no SIMD loops on this CPU: nothing to turn off")
    code = (
        "import hashlib, numpy as np\n"
        "from loops import elementary, simulate\n"
        "from loops.random import Streams\n"
        "from harness.suites import build_suite\nfrom tests.loops.conftest import compose\n"
        "x = np.linspace(-700, 700, 100_001)\n"
        "parts = [elementary.exp(x), elementary.log(np.abs(x) + 1e-300),\n"
        "         Streams(1, range(8)).stage(3, 2, 4096).normal(5)]\n"
        "run = compose('+experiment=story', 'seeds=3', 'cycles=120')\n"
        "traj = simulate(run.world(), build_suite(run.tasks, engine='numpy'), cycles=120, run_seed=0,\n"
        "                seed_indices=range(3), engine='numpy')\n"
        "parts += list(traj.arrays().values())\n"
        "print(hashlib.sha256(b''.join(np.ascontiguousarray(p).tobytes() for p in parts)).hexdigest())\n"
    )
    root = Path(__file__).resolve().parents[2]

    def digest(env: dict[str, str]) -> str:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                              env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    import os

    plain = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    assert digest(plain | {"NPY_DISABLE_CPU_FEATURES": " ".join(found)}) == digest(plain), \
        f"results change when numpy's {found} loops are off"
