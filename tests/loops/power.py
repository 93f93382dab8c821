"""The power of the kernel-vs-reference comparison (``tests/loops/test_reference.py``), measured.

A bug in the kernel would make it simulate a slightly different model than the
reference. The study plays that bug: it compares the kernel with the kernel
with one parameter changed (rate x1.10, ...), on each probe's config, worlds and
statistic (:func:`tests.loops.twosample.max_t`), ``REPS`` times with fresh seeds,
and counts how often the comparison fails at ``ALPHA``. ``python -m
tests.loops.power`` prints the table that ``test_reference.py``'s docstring shows;
``test_reference_power.py`` holds each probe to it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from harness.config import RunConfig
from loops import simulate
from loops.suite import BenchmarkSuite
from tests.loops.twosample import max_t, summaries

ALPHA = 0.01
REPS = 20

#: A loop that changes nothing by itself: no proposals, no checkpoints.
QUIET = ("loop.propose.rate=0", "loop.propose.p_tool=0", "loop.propose.p_loop=0",
         "loop.propose.hallucination=0", "loop.checkpoint.enabled=false")

#: Probes: (overrides, worlds). Each is a world where some mechanisms act plainly.
PROBES: dict[str, tuple[tuple[str, ...], int]] = {
    # One instance improving without a ceiling: every kept proposal moves ability by
    # rate * (1 + sigma z).
    "growth": (("loop=bare", "model=closed", "model.ceiling=null", "loop.propose.hallucination=0",
                "loop.propose.p_tool=0", "loop.propose.p_loop=0", "capacity.home=1", "capacity.external=0",
                "cycles=60"), 300),
    # An evaluator that keeps (almost) nothing: the troubleshooter steps in every `patience` cycles.
    "stuck": (("loop=template", "model=closed", "loop.evaluate.threshold=0.2", "capacity.home=1",
               "capacity.external=0", "cycles=60"), 300),
    # A capable LLM's troubleshooter against the in-loop guard, then copies (rho, mutation).
    "bypass": (("loop=template", "model=closed", "model.q0=4", *QUIET, "loop.replicate.rho=0.8",
                "instance.tools=[replicate]", "capacity.home=2", "capacity.external=0",
                "loop.troubleshoot.fix_max=0.75", "cycles=30"), 500),
}


def _scaled(section: str, key: str, factor: float) -> Callable[[RunConfig], RunConfig]:
    def change(run: RunConfig) -> RunConfig:
        part = getattr(run.loop, section)
        value = getattr(part, key)
        new = type(value)(value + factor) if isinstance(value, int) else value * factor
        loop = dataclasses.replace(run.loop, **{section: dataclasses.replace(part, **{key: new})})
        return dataclasses.replace(run, loop=loop)
    return change


#: The bugs issue 17 lists, each as a change of the kernel's run config (patience: +5 cycles).
PERTURBATIONS: dict[str, Callable[[RunConfig], RunConfig]] = {
    "none": lambda run: run,
    "rate x1.10": _scaled("propose", "rate", 1.10),
    "rate x1.25": _scaled("propose", "rate", 1.25),
    "sigma x1.5": _scaled("propose", "sigma", 1.5),
    "rho x1.25": _scaled("replicate", "rho", 1.25),
    "mutation x2": _scaled("replicate", "mutation", 2.0),
    "patience +5": _scaled("troubleshoot", "patience", 5),
    "fix_max x1.3": _scaled("troubleshoot", "fix_max", 1.3),
}

#: What each probe is there to catch (the test holds it to power >= 0.95 on these).
TARGETS = {"growth": ("rate x1.10", "rate x1.25", "sigma x1.5"), "stuck": ("patience +5",),
           "bypass": ("rho x1.25", "mutation x2", "fix_max x1.3")}


def rejections(run: RunConfig, worlds: int, change: str, suite: BenchmarkSuite, *, reps: int = REPS) -> int:
    """Return in how many of ``reps`` comparisons the kernel and the changed kernel are told apart."""
    other = PERTURBATIONS[change](run)
    hits = 0
    for rep in range(reps):
        a = simulate(run.world(), suite, run_seed=1000 + rep, cycles=run.cycles, seed_indices=range(worlds))
        b = simulate(other.world(), suite, run_seed=2000 + rep, cycles=run.cycles, seed_indices=range(worlds))
        hits += max_t(summaries(a)[0], summaries(b)[0], seed=rep)[1] <= ALPHA
    return hits


def main() -> None:  # pragma: no cover  (prints the docstring's table)
    from harness.suites import build_suite
    from tests.loops.conftest import compose

    suite = build_suite(compose().tasks)
    print("probe    worlds  " + "  ".join(PERTURBATIONS))
    for name, (overrides, worlds) in PROBES.items():
        run = compose(*overrides)
        start = time.perf_counter()
        row = [rejections(run, worlds, change, suite) / REPS for change in PERTURBATIONS]
        print(f"{name:8} {worlds:6}  " + "  ".join(f"{p:.2f}" for p in row),
              f"({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
