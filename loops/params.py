"""Declared parameters: a default, a unit and an allowed range, written once.

Every numeric field of a config dataclass is declared with :func:`param`. The
range lives in the field's metadata, and :func:`check_ranges` is the one
validator that reads it. Nothing else in the code base hand-writes a range check
for user input.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A configuration value is out of range or unknown.

    The message names the key, the value and what is allowed.
    """


@dataclass(frozen=True)
class Bounds:
    """Allowed range and unit of one numeric config field.

    ``None`` means unbounded on that side. ``ge``/``le`` are inclusive,
    ``gt``/``lt`` exclusive.
    """

    unit: str
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    lt: float | None = None

    def allows(self, value: float) -> bool:
        """Return True if ``value`` lies in the range."""
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.ge is not None and value < self.ge:
            return False
        if self.le is not None and value > self.le:
            return False
        if self.gt is not None and value <= self.gt:
            return False
        if self.lt is not None and value >= self.lt:
            return False
        return True

    def check(self, key: str, value: Any) -> None:
        """Raise :class:`ConfigError` naming ``key``, ``value`` and the range unless the range allows it."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}={value!r} is not a number; allowed: {self.describe()} {self.unit}")
        if not self.allows(value):
            raise ConfigError(f"{key}={value!r} is out of range; allowed: {self.describe()} ({self.unit})")

    def describe(self) -> str:
        """Return the range as text, e.g. ``[0, 1]`` or ``(0, inf)``."""
        lo = (
            "-inf"
            if self.ge is None and self.gt is None
            else _fmt(self.ge if self.ge is not None else self.gt)
        )
        hi = (
            "inf"
            if self.le is None and self.lt is None
            else _fmt(self.le if self.le is not None else self.lt)
        )
        left = "[" if self.ge is not None else "("
        right = "]" if self.le is not None else ")"
        return f"{left}{lo}, {hi}{right}"


def _fmt(x: float | None) -> str:
    return f"{x:g}" if x is not None else ""


def param(
    default: Any,
    *,
    unit: str,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    doc: str = "",
) -> Any:
    """Declare a numeric config field with its unit and allowed range.

    Parameters
    ----------
    default
        The default value.
    unit
        Unit of the value, e.g. ``"cycles"``, ``"1/cycle"``, ``"ability"``.
    ge, le, gt, lt
        Inclusive (``ge``, ``le``) and exclusive (``gt``, ``lt``) bounds.
        A field typed ``int | None`` may be ``None`` (meaning "never").
    doc
        One line saying what the field is.

    Returns
    -------
    dataclasses.Field
        A field whose metadata carries a :class:`Bounds` and the doc line.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Example:
    ...     rate: float = param(0.1, unit="1/cycle", ge=0, le=1, doc="a rate")
    """
    bounds = Bounds(unit=unit, ge=ge, le=le, gt=gt, lt=lt)
    return dataclasses.field(default=default, metadata={"bounds": bounds, "doc": doc})


def iter_fields(obj: Any, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field[Any], Any]]:
    """Yield ``(dotted key, field, value)`` for every field of a nested dataclass."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            yield from iter_fields(value, prefix=f"{key}.")
        else:
            yield key, f, value


def check_ranges(obj: Any, prefix: str = "") -> None:
    """Check every declared range of a nested config dataclass.

    Parameters
    ----------
    obj
        A (nested) config dataclass instance.
    prefix
        Dotted key prefix used in error messages, e.g. ``"loop."``.

    Raises
    ------
    ConfigError
        Naming the first key out of range, its value, the allowed range and unit.
    """
    for key, f, value in iter_fields(obj, prefix):
        bounds = f.metadata.get("bounds")
        if bounds is None or value is None:
            continue
        bounds.check(key, value)
