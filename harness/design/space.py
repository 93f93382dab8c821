"""A design's parameters: read from Hydra's override grammar, checked, mapped from the unit cube.

Every design works in the unit cube: a run's row holds one ``u`` in [0, 1] per
parameter, and :meth:`Parameter.value` turns it into the value the run gets:

- ``interval(lo,hi)`` on a float key: ``lo + u (hi - lo)`` (uniform);
- ``tag(log,interval(lo,hi))``: ``exp(ln lo + u (ln hi - ln lo))`` (log-uniform);
- ``interval(lo,hi)`` on an integer key: ``floor(v)``, ``v = lo + u (hi + 1 - lo)``
  uniform in [lo, hi + 1), so each of lo..hi is equally likely;
- ``choice(a,b,...)`` (m values): the value of index ``floor(m u)``, ``m u``
  uniform in [0, m).

Morris's top level ``u = 1`` maps to ``hi`` and to the last value. Plain comma
lists and ``range()`` are not design parameters: they form the grid the design
is crossed with (:func:`split`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Any

from loops.params import Bounds, ConfigError

#: The kinds of design parameter.
KINDS = ("uniform", "log", "integer", "choice")


@dataclass(frozen=True)
class Parameter:
    """One parameter of a design.

    Attributes
    ----------
    key
        The Hydra key as written (``loop.propose.returns``).
    kind
        One of :data:`KINDS`.
    low, high
        The interval's ends (None for ``choice``).
    values
        The values of a ``choice``, as override text (empty otherwise).
    text
        The range as written on the command line (``interval(0.8,1.5)``).
    """

    key: str
    kind: str
    low: float | None
    high: float | None
    values: tuple[str, ...]
    text: str

    def value(self, u: float) -> str:
        """Return the override text of the value at ``u`` in [0, 1] (see the module docstring).

        Examples
        --------
        >>> Parameter("k", "integer", 1, 3, (), "interval(1,3)").value(0.99)
        '3'
        >>> Parameter("k", "choice", None, None, ("a", "b"), "choice(a,b)").value(0.5)
        'b'
        """
        u = min(max(float(u), 0.0), 1.0)
        if self.kind == "choice":
            return self.values[min(len(self.values) - 1, math.floor(u * len(self.values)))]
        assert self.low is not None and self.high is not None
        if self.kind == "integer":
            low, high = int(self.low), int(self.high)
            return str(min(high, math.floor(low + u * (high + 1 - low))))
        if self.kind == "log":
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return repr(min(max(x, self.low), self.high))

    def override(self, u: float) -> str:
        """Return the override ``key=value`` of the value at ``u``."""
        return f"{self.key}={self.value(u)}"

    def record(self) -> dict[str, Any]:
        """Return the parameter as plain data (the store's design record)."""
        return dataclasses.asdict(self) | {"values": list(self.values)}


def schema_field(key: str) -> tuple[Any, Bounds | None] | None:
    """Return the type hint and declared range of a run-config key, or None if there is no such key.

    Examples
    --------
    >>> schema_field("loop.propose.returns")[1].describe()
    '[0, 3]'
    """
    from harness.config import RunConfig

    cls: Any = RunConfig
    parts = key.lstrip("+~").split(".")
    for i, part in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields:
            return None
        hint = typing.get_type_hints(cls)[part]
        if i == len(parts) - 1:
            return hint, fields[part].metadata.get("bounds")
        if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
            return None
        cls = hint
    return None


def _numeric(hint: Any) -> str | None:
    """Return ``"integer"`` or ``"float"`` for an (optional) int or float hint, else None."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] \
        if typing.get_origin(hint) in (typing.Union, types.UnionType) else [hint]
    if args == [int]:
        return "integer"
    if args == [float]:
        return "float"
    return None


def _check(key: str, value: float, bounds: Bounds | None, text: str, end: str) -> None:
    if bounds is None:
        return
    try:
        bounds.check(key.lstrip("+~"), value)
    except ConfigError as err:
        raise ConfigError(f"{err} (the {end} of {key}={text})") from None


def interval_parameter(key: str, low: float, high: float, log: bool, text: str) -> Parameter:
    """Return the design parameter of ``key=interval(low,high)``, checked against the key's range.

    Raises
    ------
    ConfigError
        When the key is not a numeric key of the run config, the interval is
        empty, a log interval is not positive, an integer key gets fractional
        ends, or an end leaves the key's allowed range (the key's own message).
    """
    field = schema_field(key)
    kind = _numeric(field[0]) if field else None
    if kind is None:
        what = "no key of the run config" if field is None else "not a numeric key"
        raise ConfigError(f"{key}={text}: {key.lstrip('+~')} is {what}; an interval needs a numeric key "
                          f"(e.g. loop.propose.returns), use choice(a,b,...) for other values")
    assert field is not None
    if not low < high:
        raise ConfigError(f"{key}={text} is empty; give interval(lo,hi) with lo < hi")
    if log and low <= 0:
        raise ConfigError(f"{key}={text}: a log interval needs 0 < lo < hi")
    if kind == "integer":
        if log:
            raise ConfigError(f"{key}={text}: {key} is an integer key; a log interval is for float keys")
        if low != int(low) or high != int(high):
            raise ConfigError(f"{key}={text}: {key} is an integer key; give integer ends "
                              f"(interval(1,8) samples 1..8 evenly)")
    for value, end in ((low, "lower end"), (high, "upper end")):
        _check(key, int(value) if kind == "integer" else value, field[1], text, end)
    return Parameter(key, "integer" if kind == "integer" else ("log" if log else "uniform"),
                     float(low), float(high), (), text)


def choice_parameter(key: str, values: list[str], text: str) -> Parameter:
    """Return the design parameter of ``key=choice(a,b,...)``; numbers are checked against the key's range.

    Values of other keys (config groups, strings, enums) are checked when the
    launcher composes every job, before any job starts.
    """
    if len(values) < 2:
        raise ConfigError(f"{key}={text}: a choice needs at least two values (one value is a plain override)")
    field = schema_field(key)
    kind = _numeric(field[0]) if field else None
    if field is not None and kind is not None:
        for raw in values:
            try:
                number = int(raw) if kind == "integer" else float(raw)
            except ValueError:
                continue  # null and the like: composing the job will say what is wrong
            _check(key, number, field[1], text, f"value {raw}")
    return Parameter(key, "choice", None, None, tuple(values), text)


def _text(override: Any) -> str:
    """Return an override's value as written (``interval(0.8,1.5)``)."""
    return str(override.input_line.split("=", 1)[1]) if override.input_line else str(override.value())


def split(overrides: list[Any]) -> tuple[list[str], list[list[str]], list[Parameter]]:
    """Split parsed Hydra overrides into fixed overrides, grid axes and design parameters.

    Parameters
    ----------
    overrides
        Hydra ``Override`` objects (the sweeper's params, then the command line;
        a later override of a key replaces an earlier one, as in Hydra's basic sweeper).

    Returns
    -------
    (list of str, list of list of str, list of Parameter)
        Overrides every job gets; one list of ``key=value`` per grid axis
        (comma lists, ``range()``); the design's parameters (``interval``,
        ``tag(log,interval)``, ``choice``).

    Raises
    ------
    ConfigError
        On a bad range (see :func:`interval_parameter`), or a sweep the design
        cannot sample (``tag(log, choice(...))``).
    """
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep

    entries: dict[str, tuple[str, Any]] = {}
    for override in overrides:
        key = override.get_key_element()
        if not override.is_sweep_override():
            entries[key] = ("fixed", f"{key}={override.get_value_element_as_str()}")
            continue
        sweep = override.value()
        if isinstance(sweep, IntervalSweep):
            text = _text(override)
            start, end = float(sweep.start or 0.0), float(sweep.end or 0.0)
            entries[key] = ("design", interval_parameter(key, start, end, "log" in sweep.tags, text))
        elif isinstance(sweep, ChoiceSweep) and not sweep.simple_form and not sweep.shuffle:
            if "log" in sweep.tags:
                raise ConfigError(f"{key}={_text(override)}: log applies to an interval, not a choice")
            entries[key] = ("design", choice_parameter(key, list(override.sweep_string_iterator()),
                                                       _text(override)))
        else:
            entries[key] = ("grid", [f"{key}={v}" for v in override.sweep_string_iterator()])
    fixed = [v for kind, v in entries.values() if kind == "fixed"]
    grid = [v for kind, v in entries.values() if kind == "grid"]
    params = [v for kind, v in entries.values() if kind == "design"]
    return fixed, grid, params
