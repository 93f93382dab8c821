"""How every kernel is compiled, and where numba keeps the compiled code.

``fastmath`` stays off: it would let LLVM fuse a multiply and an add, or reorder
a sum, and the kernel would no longer give the numpy path's bits.
``error_model="numpy"`` makes a division by zero give inf or NaN as numpy does,
instead of raising.

numba's on-disk cache checks only the source file of the function it compiled,
not the files of the functions it calls or the global tables it froze in
(numba issue #6845). The kernels are spread over several modules, so their
cache lives in a directory named by a digest of every source file of
``loops``: editing any of them compiles afresh instead of loading stale code.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numba

LOOPS = Path(__file__).resolve().parents[1]


def _digest() -> str:
    sha = hashlib.sha256(numba.__version__.encode())
    for path in sorted(LOOPS.rglob("*.py")):
        sha.update(str(path.relative_to(LOOPS)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


PREFIX = "takeoff-kernels-"
#: A cache of another source tree untouched this long is removed when a new one is made.
STALE_SECONDS = 7 * 24 * 3600


def cache_dir() -> Path:
    """Return the directory of the compiled kernels of this source tree (created if needed).

    Beside the package when it is writable, else in the user's cache directory.
    """
    name = PREFIX + _digest()
    for base in (LOOPS / "compiled" / "__pycache__",
                 Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "takeoff",
                 Path(tempfile.gettempdir()) / "takeoff"):
        path = base / name
        with contextlib.suppress(OSError):
            if not path.exists():
                path.mkdir(parents=True, exist_ok=True)
                _prune(base, keep=path)
            if os.access(path, os.W_OK):
                return path
    raise OSError("no writable directory for numba's cache of the takeoff kernels")


def _prune(base: Path, keep: Path) -> None:
    """Remove the kernel caches of older source trees (only ours: named ``takeoff-kernels-*``)."""
    now = time.time()
    for old in base.glob(PREFIX + "*"):
        with contextlib.suppress(OSError):
            if old != keep and now - old.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(old)


CACHE_DIR = str(cache_dir())


@contextlib.contextmanager
def _our_cache_dir() -> Iterator[None]:
    # numba reads config.CACHE_DIR when a cached function is decorated and keeps
    # the path it found; set it for our functions only, then restore it.
    old = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = CACHE_DIR
    try:
        yield
    finally:
        numba.config.CACHE_DIR = old


def jit(fn: Callable[..., Any]) -> Any:
    """Compile ``fn`` with numba in nopython mode, cached on disk (see the module docstring)."""
    with _our_cache_dir():
        return numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")(fn)
