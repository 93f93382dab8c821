"""The compiled kernel: numba twins of the stages, the compute allocation and the recorder.

``loops/stages/`` states the model in vectorised numpy; this package computes
the same thing one instance at a time, only for live instances, and only the
random draws a branch needs, at about eight times the speed. Each twin performs
the same floating-point operations in the same order as its numpy original, so
the two give the same bits; ``tests/loops/compiled`` holds them to it, stage by
stage and on whole trajectories.

Importing this package imports numba; the driver does so only when the
``numba`` engine is chosen (:mod:`loops.engine`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loops.registry import Registry

#: Compiled twins of the registered stages, by stage name.
KERNELS: Registry[Callable[..., Any]] = Registry("compiled stage")

from loops.compiled import (  # noqa: E402,F401  (imported to register the kernels)
    benchmark,
    checkpoint,
    evaluate,
    propose,
    replicate,
    troubleshoot,
)
from loops.compiled.compute import allocate_compute  # noqa: E402
from loops.compiled.recorder import observe  # noqa: E402

__all__ = ["KERNELS", "allocate_compute", "observe"]
