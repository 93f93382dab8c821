"""numba builds of the scalar functions of :mod:`loops.elementary`.

They are the plain-Python ``exp_scalar`` and ``log_scalar``, compiled as they
stand; ``tests/loops/compiled/test_elementary.py`` checks that they give the
numpy versions' bits.
"""

from __future__ import annotations

from loops import elementary as el
from loops.compiled._jit import jit

exp = jit(el.exp_scalar)
log = jit(el.log_scalar)
