"""The run configuration: Hydra's ConfigStore schema and its one conversion.

Hydra composes ``conf/config.yaml`` over the schema registered here; the app
calls :func:`to_run_config` once, which turns the DictConfig into frozen
dataclasses and checks every declared range. Nothing past this module sees a
DictConfig.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from loops.config import (
    CapacityConfig,
    CountermeasuresConfig,
    InstanceConfig,
    InterventionsConfig,
    LoopConfig,
    ModelConfig,
    WildConfig,
    WorldConfig,
)
from loops.params import ConfigError, check_ranges, param


@dataclass(frozen=True)
class TasksConfig:
    """The synthetic benchmark suite (item-response item banks per domain)."""

    suite: str = "saturating"
    domains: tuple[str, ...] = ("chess", "math", "captioning")
    items: int = param(400, unit="items", ge=10, le=1_000_000, doc="items per domain bank")
    proxy_fraction: float = param(0.5, unit="fraction", gt=0, lt=1,
                                  doc="share of each bank the evaluator sees (the proxy part)")
    seed: int = param(1234, unit="1", ge=0, lt=2**63, doc="the suite's own seed (fixes the item banks)")


@dataclass(frozen=True)
class RecordConfig:
    """What is kept of each run."""

    every: int = param(1, unit="cycles", ge=1, le=1_000_000, doc="keep every n-th cycle")


@dataclass(frozen=True)
class FaultConfig:
    """Fault injection, for testing the harness's failure handling. Off by default."""

    raise_in_job: bool = False
    kill_worker: bool = False


@dataclass(frozen=True)
class RunConfig:
    """One run: ``seeds`` worlds of one world config, simulated for ``cycles``.

    The top-level keys ``seeds``, ``cycles``, ``store``, ``loop.*``, ``model.*``,
    ``interventions.*`` and ``capacity.*`` are part of the public contract.
    """

    seeds: int = param(16, unit="worlds", ge=1, le=1_000_000, doc="worlds (seeds) per run")
    cycles: int = param(200, unit="cycles", ge=1, le=10_000_000, doc="cycles per world")
    seed: int = param(0, unit="1", ge=0, lt=2**63, doc="the run seed")
    store: str | None = None
    #: ``numba`` (compiled), ``numpy`` or ``auto`` (numba when it imports): same results, not part of a
    #: run's identity (see ``loops.engine``).
    engine: str = "auto"
    loop: LoopConfig = field(default_factory=LoopConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    instance: InstanceConfig = field(default_factory=InstanceConfig)
    interventions: InterventionsConfig = field(default_factory=InterventionsConfig)
    capacity: CapacityConfig = field(default_factory=CapacityConfig)
    wild: WildConfig = field(default_factory=WildConfig)
    countermeasures: CountermeasuresConfig = field(default_factory=CountermeasuresConfig)
    tasks: TasksConfig = field(default_factory=TasksConfig)
    record: RecordConfig = field(default_factory=RecordConfig)
    fault: FaultConfig = field(default_factory=FaultConfig)

    def world(self) -> WorldConfig:
        """Return the part of the config the simulator reads."""
        return WorldConfig(
            loop=self.loop,
            model=self.model,
            instance=self.instance,
            interventions=self.interventions,
            capacity=self.capacity,
            wild=self.wild,
            countermeasures=self.countermeasures,
        )


def validate(cfg: RunConfig) -> None:
    """Check ranges and cross-field rules of a run config.

    Raises
    ------
    ConfigError
        Naming the key, the value and what is allowed.
    """
    check_ranges(cfg)
    from harness.suites import SUITES
    from loops.engine import check_engine

    check_engine(cfg.engine)
    from loops.tools import TOOL_NAMES

    if cfg.tasks.suite not in SUITES:
        raise ConfigError(f"tasks.suite={cfg.tasks.suite!r} is unknown; known: {SUITES.names()}")
    if not cfg.tasks.domains or len(set(cfg.tasks.domains)) != len(cfg.tasks.domains):
        raise ConfigError(f"tasks.domains={list(cfg.tasks.domains)!r} must be non-empty and distinct")
    for tool in cfg.instance.tools:
        if tool not in TOOL_NAMES:
            raise ConfigError(f"instance.tools has unknown tool {tool!r}; known: {list(TOOL_NAMES)}")
    if cfg.record.every > cfg.cycles:
        raise ConfigError(f"record.every={cfg.record.every} exceeds cycles={cfg.cycles}; "
                          f"allowed: 1..cycles")
    from loops.wild.begin import check as check_wild
    from loops.wild.begin import check_size

    check_wild(cfg.world())
    check_size(cfg.world(), cfg.seeds)
    p = cfg.loop.propose
    if p.p_tool + p.p_loop > 1:
        raise ConfigError(f"loop.propose.p_tool + loop.propose.p_loop = {p.p_tool + p.p_loop:g} "
                          f"exceeds 1; allowed: a sum in [0, 1]")


def _thaw(node: Any) -> None:
    """Clear the read-only flag OmegaConf sets on frozen dataclasses.

    OmegaConf marks a frozen dataclass's node read-only, which makes every
    command-line override fail with "Cannot change read-only config container".
    The schema is frozen for Python code; overrides must still compose.
    """
    from omegaconf import DictConfig

    node._set_flag("readonly", None)
    if isinstance(node, DictConfig):
        for key in node.keys():
            _thaw(node._get_node(key))


def _schema() -> Any:
    """Return the run schema as an overridable (not read-only) OmegaConf node."""
    from omegaconf import OmegaConf

    node = OmegaConf.structured(RunConfig)
    _thaw(node)
    return node


def register_configs() -> None:
    """Register the run schema in Hydra's ConfigStore as ``takeoff_schema``."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="takeoff_schema", node=_schema())


def to_run_config(cfg: Any) -> RunConfig:
    """Convert a composed Hydra config into a validated :class:`RunConfig`.

    Parameters
    ----------
    cfg
        The DictConfig Hydra composed (``hydra`` key ignored).

    Raises
    ------
    ConfigError
        When a value is out of range or unknown.
    """
    from omegaconf import OmegaConf

    cfg = cfg.copy()
    with_hydra = "hydra" in cfg
    if with_hydra:
        from omegaconf import open_dict

        with open_dict(cfg):
            del cfg["hydra"]
    _thaw(cfg)
    _check_keys(cfg, RunConfig)
    if OmegaConf.get_type(cfg) is not RunConfig:
        cfg = OmegaConf.merge(_schema(), cfg)
    run = OmegaConf.to_object(cfg)
    if not isinstance(run, RunConfig):
        raise ConfigError(f"expected a takeoff run config, got {type(run).__name__}")
    converted: RunConfig = _tuples(run)
    validate(converted)
    return converted


def _check_keys(node: Any, schema: type, prefix: str = "") -> None:
    """Fail with a :class:`ConfigError` naming the first key the schema does not have.

    Hydra lets ``+foo=1`` add a key anywhere; the run config would then fail
    deep inside OmegaConf with a traceback. Say which key, and what is known.
    """
    import typing

    from omegaconf import DictConfig

    if not isinstance(node, DictConfig):
        return
    hints = typing.get_type_hints(schema)
    known = [f.name for f in dataclasses.fields(schema)]
    for key in map(str, node.keys()):
        name = f"{prefix}{key}"
        if key not in known:
            where = f" under {prefix[:-1]}" if prefix else ""
            raise ConfigError(f"{name} is not a takeoff config key; known{where}: {known} "
                              f"(remove the override, or check its spelling)")
        kind = hints[key]
        if dataclasses.is_dataclass(kind) and isinstance(kind, type):
            _check_keys(node._get_node(key), kind, f"{name}.")


def _tuples(obj: Any) -> Any:
    """Turn list fields (OmegaConf's form of a tuple) back into tuples, recursively."""
    changes = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes[f.name] = _tuples(value)
        elif isinstance(value, list):
            changes[f.name] = tuple(value)
    return dataclasses.replace(obj, **changes)
