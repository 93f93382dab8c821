"""Compose and validate every job of a sweep in the driver, without recomposing what the jobs share.

Hydra composes a job's config from its config-group choices (``loop=bare``,
``+experiment=story``), then applies its value overrides
(``loop.propose.returns=1.2``) to the result. A sweep's jobs mostly differ in
values, so :class:`SweepComposer` composes (and converts to a
:class:`~harness.config.RunConfig`) once per distinct set of group choices,
and gives each job its values on that validated run config, each converted by
the same OmegaConf nodes the full path would pass it through (the composed
config's node, then the schema's). Anything else (a list or dict value, an
interpolation, ``+key=``, a key the config lacks, a value a node refuses, a
run that fails validation) takes the full path, Hydra's composition of the
job, so every error message is today's. Both paths give the same
:class:`~harness.job.JobSpec` (``tests/harness/test_composer.py``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.compose import default_store, job_spec, runs_here, spec_of_run
from harness.config import RunConfig, _schema, to_run_config, validate
from harness.job import JOB_LOGS, JobSpec
from loops.params import ConfigError

#: Hydra's INT and FLOAT tokens (``OverrideLexer.g4``) without digit separators, after a dotted key.
_UNSIGNED = r"(?:0|[1-9][0-9]*)"
_NUMBER = re.compile(
    rf"(?P<key>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)="
    rf"(?:(?P<int>[+-]?{_UNSIGNED})"
    rf"|(?P<float>[+-]?(?:(?:{_UNSIGNED}?\.[0-9]+|{_UNSIGNED}\.)(?:[eE][+-]?[0-9]+)?|{_UNSIGNED}[eE][+-]?[0-9]+)))"
)


class _SlowPath(Exception):
    """A job the fast path does not take; it is composed by Hydra instead."""


@dataclass
class _Base:
    """A composition shared by jobs with the same group choices, and what the fast path needs of it."""

    cfg: Any
    run: RunConfig | None  # None: the base alone is not a valid run; its jobs take the full path
    here: bool


class SweepComposer:
    """Compose every job's config the way Hydra does; give value-only jobs their values directly.

    Parameters
    ----------
    launcher
        Hydra's launcher (its ``config`` and ``hydra_context.config_loader``).
    fast
        Give value overrides to the composed run config (the default); False
        composes every job with Hydra (the reference the fast path is tested against).
    """

    def __init__(self, launcher: Any, *, fast: bool = True) -> None:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        self.loader = launcher.hydra_context.config_loader
        self.config = launcher.config
        self.parser = OverridesParser.create()
        self.groups = self._groups("")
        self.cache: dict[tuple[str, ...], Any] = {}
        self.parsed: dict[str, Any] = {}
        self.nodes: dict[tuple[int, str], Any] = {}
        self.bases: dict[tuple[str, ...], _Base] = {}
        self.fast = fast
        self.schema: Any = None
        #: Jobs composed by Hydra (the full path), and by the fast path.
        self.slow = 0
        self.quick = 0

    def _groups(self, parent: str) -> set[str]:
        names: set[str] = set()
        for group in self.loader.list_groups(parent):
            name = f"{parent}/{group}" if parent else group
            names |= {name} | self._groups(name)
        return names

    def _is_value(self, override: Any) -> bool:
        key = str(override.key_or_group)
        return (override.package is None and not override.is_delete() and not override.is_add()
                and not key.startswith("hydra") and key.replace(".", "/") not in self.groups)

    def _parse(self, text: str) -> Any:
        # A sweep repeats most override strings (its group choices, its fixed values): each is parsed once.
        if text not in self.parsed:
            (self.parsed[text],) = self.parser.parse_overrides([text])
        return self.parsed[text]

    def _split(self, overrides: Sequence[str]) -> tuple[list[Any], tuple[str, ...]]:
        parsed = [self._parse(text) for text in overrides]
        values = [o for o in parsed if self._is_value(o)]
        structural = tuple(text for text, o in zip(overrides, parsed, strict=True) if not self._is_value(o))
        return values, structural

    def _values(self, overrides: Sequence[str]) -> tuple[list[tuple[str, Any]], tuple[str, ...]]:
        """Return a job's value overrides as ``(key, value)`` and its other overrides (fast path).

        A number (``key=0.125``, Hydra's INT and FLOAT tokens without ``_``) is
        taken as Python's ``int`` or ``float`` of its text, as Hydra's parser
        does, once Hydra has parsed ``key=0`` as a value override: parsing each
        of a sweep's distinct numbers with the grammar would cost more than all
        else a job's composition does. Anything else Hydra parses.

        Raises
        ------
        _SlowPath
            For a value override other than ``key=value`` (``++key=``, a sweep, a list).
        """
        from hydra.core.override_parser.types import OverrideType, ValueType

        values: list[tuple[str, Any]] = []
        structural: list[str] = []
        for text in overrides:
            number = _NUMBER.fullmatch(text)
            if number is not None and self._is_value(template := self._parse(f"{number['key']}=0")) \
                    and str(template.key_or_group) == number["key"] and template.type == OverrideType.CHANGE:
                value = int(number["int"]) if number["int"] else float(number["float"])
                values.append((number["key"], value))
                continue
            override = self._parse(text)
            if not self._is_value(override):
                structural.append(text)
            elif override.type != OverrideType.CHANGE or override.value_type != ValueType.ELEMENT:
                raise _SlowPath
            else:
                values.append((str(override.key_or_group), override.value()))
        return values, tuple(structural)

    def _composed(self, structural: tuple[str, ...]) -> Any:
        if structural not in self.cache:
            self.cache[structural] = self.loader.load_sweep_config(self.config, list(structural))
        return self.cache[structural]

    def compose(self, overrides: Sequence[str]) -> Any:
        """Return the composed config of a job with ``overrides`` (Hydra's composition)."""
        import copy

        from hydra._internal.config_loader_impl import ConfigLoaderImpl

        values, structural = self._split(overrides)
        cfg = copy.deepcopy(self._composed(structural))
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        return cfg

    def spec(self, overrides: Sequence[str], *, index: int, store: str, log_file: str | None,
             ) -> tuple[JobSpec, Any]:
        """Return a job's spec and its config: the composed one, or (fast path) the sweep's shared one.

        Raises
        ------
        ConfigError, hydra.errors.HydraException, omegaconf.errors.OmegaConfBaseException
            As Hydra's composition and :func:`~harness.compose.job_spec` raise them.
        """
        from hydra.core.utils import filter_overrides

        kept = filter_overrides(overrides)
        if self.fast:
            try:
                values, structural = self._values(overrides)
                base = self._base(structural)
                run = self._apply(base, values)
                validate(run)
                spec = spec_of_run(run, kept, index=index, store=store, log_file=log_file, here=base.here)
            except Exception:  # noqa: BLE001  (_SlowPath, or a mistake Hydra's path reports in its words)
                pass
            else:
                self.quick += 1
                return spec, base.cfg
        self.slow += 1
        from omegaconf import open_dict

        cfg = self.compose(overrides)
        with open_dict(cfg):
            cfg.hydra.job.id = index
            cfg.hydra.job.num = index
        return job_spec(cfg, kept, index=index, store=store, log_file=log_file), cfg

    def _base(self, structural: tuple[str, ...]) -> _Base:
        if structural not in self.bases:
            cfg = self._composed(structural)
            try:
                run: RunConfig | None = None if _interpolated(cfg) else to_run_config(cfg)
            except Exception:  # noqa: BLE001  (the jobs' own composition says what is wrong)
                run = None
            self.bases[structural] = _Base(cfg, run, runs_here(cfg))
        base = self.bases[structural]
        if base.run is None:
            raise _SlowPath
        return base

    def _apply(self, base: _Base, values: Sequence[tuple[str, Any]]) -> RunConfig:
        """Return the base's run config with ``values`` set, each converted as Hydra and the schema would."""
        from omegaconf import ValueNode

        assert base.run is not None
        if self.schema is None:
            self.schema = _schema()
        run = base.run
        for key, value in values:
            if isinstance(value, (dict, list)) or (isinstance(value, str) and "${" in value):
                raise _SlowPath
            try:
                # The composed config's node takes the value (Hydra's override), then the
                # schema's node (to_run_config merges the schema over the config).
                for root in (base.cfg, self.schema):
                    if (id(root), key) not in self.nodes:
                        self.nodes[id(root), key] = _node(root, key)
                    node = self.nodes[id(root), key]
                    if not isinstance(node, ValueNode) or node._get_flag("readonly"):
                        raise _SlowPath
                    value = node.validate_and_convert(value)
            except _SlowPath:
                raise
            except Exception:  # noqa: BLE001  (a value a node refuses: Hydra's path says so in its words)
                raise _SlowPath from None
            run = _replace(run, key.split("."), value)
        return run


def _node(root: Any, key: str) -> Any:
    """Return the node at dotted ``key`` under ``root``, or raise :class:`_SlowPath`."""
    from omegaconf import DictConfig

    node = root
    for part in key.split("."):
        if not isinstance(node, DictConfig) or node._is_none() or node._is_missing() or part not in node:
            raise _SlowPath
        node = node._get_node(part)
    return node


def _replace(obj: Any, path: list[str], value: Any) -> Any:
    """Return frozen dataclass ``obj`` with the field at ``path`` set to ``value``."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise _SlowPath
    name = path[0]
    if name not in {f.name for f in dataclasses.fields(obj)}:
        raise _SlowPath
    if len(path) > 1:
        value = _replace(getattr(obj, name), path[1:], value)
    elif isinstance(value, list) or dataclasses.is_dataclass(getattr(obj, name)):
        raise _SlowPath
    return dataclasses.replace(obj, **{name: value})


def _interpolated(cfg: Any) -> bool:
    """Return True when the run config (Hydra's own node aside) holds an interpolation."""
    from omegaconf import OmegaConf

    found = False

    def walk(node: Any) -> None:
        nonlocal found
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and "${" in node:
            found = True

    container = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(container, dict)
    container.pop("hydra", None)
    walk(container)
    return found


def compose_jobs(
    launcher: Any,
    job_overrides: Sequence[Sequence[str]],
    initial_job_idx: int,
    *,
    fast: bool = True,
    composer: SweepComposer | None = None,
) -> tuple[list[JobSpec], list[Any]]:
    """Compose and validate every job's config; return the job specs and configs.

    A job given its values by the fast path returns the sweep's shared composed
    config (its values are in its spec); the others their own composed config.
    ``composer`` keeps its compositions between calls (``fast`` is then its own).

    Raises
    ------
    ConfigError
        Naming the job, its overrides and the first line of what is wrong.
    """
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    composer = SweepComposer(launcher, fast=fast) if composer is None else composer
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    store = default_store(launcher.config, base_dir=str(sweep_dir))
    specs, configs = [], []
    for offset, overrides in enumerate(job_overrides):
        index = initial_job_idx + offset
        try:
            spec, cfg = composer.spec(overrides, index=index, store=store,
                                      log_file=str(sweep_dir / JOB_LOGS / f"{index}.log"))
        except (ConfigError, HydraException, OmegaConfBaseException) as err:
            message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(f"job #{index} ({' '.join(overrides)}): {message}") from None
        specs.append(spec)
        configs.append(cfg)
    return specs, configs
