"""Digests of the project's source code: what a run's identity and the compiled twins are tied to.

A digest covers modules and every project module they import, transitively
(imports inside functions included; a package's ``__init__`` only when it is
imported by name). A module's text is read without its comments, docstrings,
trailing blanks and blank lines, so editing prose gives the same digest, and
any edit of code gives a new one. Nothing is imported: modules are found as
files under the source root (the directory that holds ``loops/``).

Examples
--------
>>> files = closure(["loops.registry"])
>>> [path.name for path in files]
['registry.py']
>>> len(digest(files))
16
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import tokenize
from collections.abc import Iterable
from pathlib import Path

#: The directory that holds the project's packages (``loops/``, ``harness/``, ...).
ROOT = Path(__file__).resolve().parents[1]


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """Return the source file of module ``name`` under ``root``, or None when it is not there."""
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(path: Path, name: str, root: Path) -> list[str]:
    """Return the absolute names of the project modules ``path`` imports (and some non-modules)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[str] = []
    for module, level, names in _import_nodes(path, *_stamp(path)):
        if module is None:  # import a, b
            found.extend(names)
            continue
        base = module
        if level:
            parts = package.split(".")
            parent = ".".join(parts[: len(parts) - level + 1])
            base = f"{parent}.{base}" if base else parent
        # ``from package import module`` runs the package's __init__ too, but what the
        # importer uses is the module; the __init__ counts when a name comes from it.
        subs = [f"{base}.{alias}" for alias in names]
        found.extend(subs)
        if not all(module_file(sub, root) for sub in subs):
            found.append(base)
    return found


#: One import statement: (module or None for ``import``, relative level, names).
_Import = tuple[str | None, int, tuple[str, ...]]


@functools.lru_cache(maxsize=512)
def _import_nodes(path: Path, mtime_ns: int, size: int) -> tuple[_Import, ...]:
    """Return a file's imports: (None, 0, names) for ``import``, (module, level, names) for ``from``.

    Walked once per process and version of the file (the stamp is part of the key); a
    closure of each of the eleven twins walked the same modules again, 0.9 s a process.
    """
    out: list[_Import] = []
    for node in ast.walk(_tree(path, mtime_ns, size)):
        if isinstance(node, ast.Import):
            out.append((None, 0, tuple(alias.name for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            out.append((node.module or "", node.level, tuple(alias.name for alias in node.names)))
    return tuple(out)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=512)
def _tree(path: Path, mtime_ns: int, size: int) -> ast.Module:
    # Parsed once per process and version of the file (the stamp is part of the key).
    return ast.parse(path.read_bytes(), filename=str(path))


@functools.lru_cache(maxsize=512)
def _code(path: Path, mtime_ns: int, size: int) -> str:
    return code_text(path.read_bytes())


def closure(modules: Iterable[str], root: Path = ROOT) -> list[Path]:
    """Return the files of ``modules`` and of every project module they import, sorted.

    Parameters
    ----------
    modules
        Dotted module names (``"loops.stages.propose"``).
    root
        The source root; a name that is not a file under it (numpy, the
        standard library) is not followed.

    Raises
    ------
    FileNotFoundError
        When one of ``modules`` is not a file under ``root``.
    """
    todo = list(modules)
    for name in todo:
        if module_file(name, root) is None:
            raise FileNotFoundError(f"module {name!r} is not a source file under {root}")
    seen: dict[Path, str] = {}
    while todo:
        name = todo.pop()
        path = module_file(name, root)
        if path is None or path in seen:
            continue
        seen[path] = name
        todo.extend(_imports(path, name, root))
    return sorted(seen)


def code_text(source: bytes) -> str:
    """Return Python source without comments, docstrings, trailing blanks and blank lines."""
    text = source.decode("utf-8").replace("\r\n", "\n")
    lines = text.split("\n")
    cut: list[tuple[int, int, int, int]] = []  # (start row, start col, end row, end col), 1-based rows
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str) and first.end_lineno is not None
                    and first.end_col_offset is not None):
                cut.append((first.lineno, first.col_offset, first.end_lineno, first.end_col_offset))
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            cut.append((token.start[0], token.start[1], token.end[0], token.end[1]))
    # Cut from the end so earlier positions stay valid (columns are in characters of one line).
    for row0, col0, row1, col1 in sorted(cut, reverse=True):
        head, tail = lines[row0 - 1][:col0], lines[row1 - 1][col1:]
        lines[row0 - 1: row1] = [head + tail]
    return "\n".join(line.rstrip() for line in lines if line.strip())


def digest(files: Iterable[Path], root: Path = ROOT) -> str:
    """Return a 16-hex-digit digest of ``files``: their paths under ``root`` and their code text."""
    sha = hashlib.sha256()
    for path in sorted(files):
        sha.update(path.relative_to(root).as_posix().encode() + b"\0")
        sha.update(_code(path, *_stamp(path)).encode() + b"\0")
    return sha.hexdigest()[:16]


def file_digest(path: Path) -> str:
    """Return the 16-hex-digit digest of one file's code text."""
    return hashlib.sha256(_code(path, *_stamp(path)).encode()).hexdigest()[:16]
