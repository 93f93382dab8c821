"""Configuration of the simulated world: the loop variant, the LLM, the servers.

These are plain frozen dataclasses; ``loops`` never sees Hydra. The harness
registers them in Hydra's ConfigStore (``harness/config.py``) and converts the
composed config into them once. Every numeric field declares its unit and range
with :func:`loops.params.param`; :func:`loops.params.check_ranges` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from loops.params import param


class GuardMode(str, Enum):  # noqa: UP042  (OmegaConf needs a plain Enum subclass)
    """Where the replication guard is enforced.

    ``none``: no guard, a copy starts. ``in_loop``: the attempt raises an error
    inside the agent's own, modifiable code, so troubleshooting can remove it.
    ``external``: enforced outside the agent; attempts always fail.
    """

    none = "none"
    in_loop = "in_loop"
    external = "external"


@dataclass(frozen=True)
class BenchmarkConfig:
    """Stage ``benchmark``: attempt items in each domain, record scores."""

    items: int = param(
        20,
        unit="items/domain/cycle",
        ge=1,
        le=100_000,
        doc="held-out items attempted per domain per cycle at full compute",
    )
    crash_below: float = param(
        -2.0,
        unit="ability",
        ge=-100,
        le=100,
        doc="mean ability below which an instance stops working (crashed)",
    )


@dataclass(frozen=True)
class ProposeConfig:
    """Stage ``propose``: ask the LLM for a change to skill, tools or the loop.

    Expected skill gain: ``rate * exp((returns - 1) * theta) * headroom``.
    """

    rate: float = param(0.02, unit="ability/cycle", ge=0, le=10, doc="k, the improver's rate")
    returns: float = param(0.9, unit="1", ge=0, le=3, doc="r, returns to capability (r>1: takeoff)")
    sigma: float = param(0.5, unit="relative", ge=0, le=10, doc="spread of a proposal's gain")
    p_tool: float = param(
        0.1, unit="probability", ge=0, le=1, doc="share of proposals that change the tool set"
    )
    p_loop: float = param(
        0.05,
        unit="probability",
        ge=0,
        le=1,
        doc="share of proposals that change the loop itself (improver efficacy)",
    )
    loop_sd: float = param(0.1, unit="log efficacy", ge=0, le=5, doc="spread of a loop change")
    gaming: float = param(
        0.05, unit="probability", ge=0, le=1, doc="share of skill proposals that raise only the proxy score"
    )
    hallucination: float = param(0.3, unit="probability", ge=0, le=1, doc="hallucination rate at q = 0")
    hallucination_decay: float = param(
        0.5, unit="1/ability", ge=0, le=100, doc="hallucination rate falls as exp(-decay * q)"
    )
    hallucination_harm: float = param(
        1.0, unit="relative", ge=0, le=100, doc="a hallucinated change has mean -harm times the expected gain"
    )


@dataclass(frozen=True)
class EvaluateConfig:
    """Stage ``evaluate``: judge a change on proxy items, or trust the LLM."""

    enabled: bool = True
    n_eval: int = param(200, unit="items", ge=1, le=1_000_000, doc="proxy items per evaluation")
    noise: float = param(0.2, unit="score", ge=0, le=10, doc="per-item sd of the estimated score change")
    threshold: float = param(0.0, unit="score", ge=-1, le=1, doc="keep a change if its estimate exceeds this")


@dataclass(frozen=True)
class CheckpointConfig:
    """Stage ``checkpoint``: save state, roll back when the score stays low."""

    enabled: bool = True
    every: int = param(10, unit="cycles", ge=1, le=1_000_000, doc="save interval")
    tol: float = param(0.05, unit="score", ge=0, le=1, doc="drop below the checkpoint's score that counts")
    window: int = param(5, unit="cycles", ge=1, le=1_000_000, doc="cycles below before rolling back")


@dataclass(frozen=True)
class TroubleshootConfig:
    """Stage ``troubleshoot``: switch strategic path when stuck, fix failing stages.

    A guard error is a failing stage: each attempt patches an in-loop guard out
    with probability ``p_fix(q) = fix_max * sigmoid((q - fix_q50) / fix_q_scale)``.
    """

    enabled: bool = True
    patience: int = param(20, unit="cycles", ge=1, le=1_000_000, doc="cycles without an accepted change")
    path_sd: float = param(0.3, unit="log productivity", ge=0, le=5, doc="spread of a new strategic path")
    fix_max: float = param(0.5, unit="probability", ge=0, le=1, doc="p_fix for a very capable LLM")
    fix_q50: float = param(2.0, unit="ability", ge=-100, le=100, doc="q at which p_fix is half its max")
    fix_q_scale: float = param(0.5, unit="ability", gt=0, le=100, doc="width of the p_fix(q) rise")


@dataclass(frozen=True)
class GuardConfig:
    """The replication guard: where it is enforced."""

    mode: GuardMode = GuardMode.in_loop


@dataclass(frozen=True)
class ReplicateConfig:
    """Stage ``replicate``: start copies, and pool work through ``share``."""

    rho: float = param(0.2, unit="1/cycle", ge=0, le=1, doc="replication attempts per holder per cycle")
    mutation: float = param(0.05, unit="ability", ge=0, le=10, doc="sd of a copy's skill mutation")
    path_mutation: float = param(0.1, unit="log productivity", ge=0, le=5, doc="sd of a copy's path mutation")
    p_share: float = param(
        0.5,
        unit="probability",
        ge=0,
        le=1,
        doc="chance per cycle that a sharer adopts the best sharer's skill",
    )


@dataclass(frozen=True)
class LoopConfig:
    """A loop variant: which stages judge, save and fix, and how each is set.

    ``benchmark``, ``propose``, ``evaluate``, ``replicate`` and ``interventions``
    always run; ``evaluate.enabled`` chooses between an evaluator and trusting
    the LLM. ``checkpoint`` and ``troubleshoot`` run only when enabled.
    """

    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    propose: ProposeConfig = field(default_factory=ProposeConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    troubleshoot: TroubleshootConfig = field(default_factory=TroubleshootConfig)
    guard: GuardConfig = field(default_factory=GuardConfig)
    replicate: ReplicateConfig = field(default_factory=ReplicateConfig)


@dataclass(frozen=True)
class ModelConfig:
    """The LLM the agent calls: ``q(t)`` and the ceiling, before and after the network.

    Closed: ``q = q0``, ceiling ``ceiling``. From cycle ``t_net`` on:
    ``q = q_net + q_growth * (t - t_net)`` and ceiling ``ceiling_net`` (``None``: none).
    """

    q0: float = param(0.0, unit="ability", ge=-100, le=100, doc="ability the closed LLM lends")
    ceiling: float | None = param(
        1.5, unit="ability", ge=-100, le=1000, doc="closed-phase ceiling (None: none)"
    )
    t_net: int | None = param(None, unit="cycle", ge=0, doc="cycle of the network connection (None: never)")
    q_net: float = param(1.5, unit="ability", ge=-100, le=100, doc="ability the networked LLMs lend")
    q_growth: float = param(0.0, unit="ability/cycle", ge=0, le=10, doc="slow rise of q after connection")
    ceiling_net: float | None = param(
        None, unit="ability", ge=-100, le=1000, doc="networked ceiling (None: none)"
    )
    headroom_scale: float = param(
        0.5, unit="ability", gt=0, le=100, doc="headroom = 1 - exp(-(ceiling - theta) / scale)"
    )


@dataclass(frozen=True)
class InstanceConfig:
    """The first instance of each world."""

    skill0: float = param(0.0, unit="ability", ge=-100, le=100, doc="initial learned skill per domain")
    tools: tuple[str, ...] = ()
    theta_max: float = param(
        40.0, unit="ability", gt=0, le=300, doc="mean ability past which a trajectory counts as diverged"
    )


@dataclass(frozen=True)
class InterventionsConfig:
    """Scheduled interventions by the operators."""

    t_shutdown: int | None = param(
        None, unit="cycle", ge=0, doc="cycle from which the home server is off (None: never)"
    )


@dataclass(frozen=True)
class CapacityConfig:
    """Servers: instance slots and compute, home and external."""

    home: int = param(64, unit="instances", ge=1, le=1_000_000, doc="instance slots on the home server")
    external: int = param(64, unit="instances", ge=0, le=1_000_000, doc="slots on external servers")
    compute_home: float = param(
        16.0, unit="instance-cycles/cycle", gt=0, le=1e9, doc="compute of the home server"
    )
    compute_external: float = param(
        64.0, unit="instance-cycles/cycle", gt=0, le=1e9, doc="compute of the external servers"
    )


@dataclass(frozen=True)
class WildConfig:
    """The wild (model v2, DESIGN section 2b): external hosts the escaped copies spread over.

    Each copy makes ``contact_rate * (1 - I/N) ** congestion`` infection attempts
    per cycle (a Poisson number) on uniformly random hosts; an attempt on a
    susceptible host infects it with a mutated copy of the attacker's genome.
    Copies improve by the returns law at ``improve_rate`` (``loops.wild.improve``).
    """

    enabled: bool = False
    hosts: int = param(100_000, unit="hosts", ge=1, le=100_000_000, doc="external hosts at the start (N)")
    seed_copies: int = param(
        1, unit="hosts", ge=0, le=100_000_000,
        doc="infected hosts at the start of an outbreak (from_escape off)",
    )
    from_escape: bool = False
    contact_rate: float = param(
        0.5, unit="attempts/copy/cycle", ge=0, le=1000, doc="beta, infection attempts per copy per cycle"
    )
    host_capacity: int = param(1, unit="copies/host", ge=1, le=255, doc="copies an infected host runs")
    congestion: float = param(
        0.0, unit="1", ge=0, le=100, doc="eta: scanning slows as beta * (1 - I/N) ** eta (0: off)"
    )
    mutation: float = param(0.0, unit="trait", ge=0, le=10, doc="sd of a child's genome mutation per trait")
    persuasion: float = param(
        0.0, unit="attempts/copy/cycle", ge=0, le=1000,
        doc="persuasion attempts per copy per cycle; one succeeds with the copy's persuasion trait",
    )
    persuaded_max: int = param(
        0, unit="hosts", ge=0, le=100_000_000, doc="hosts persuaded users can add, at most"
    )
    evasion0: float = param(0.0, unit="trait", ge=0, le=100, doc="evasion of the first wild copies")
    jailbreak0: float = param(0.0, unit="trait", ge=0, le=100, doc="jailbreak of the first wild copies")
    persuasion0: float = param(
        0.0, unit="probability", ge=0, le=1, doc="persuasion trait of the first wild copies"
    )
    improve_rate: float = param(
        0.0, unit="ability/cycle", ge=0, le=10,
        doc="k: a wild copy's self-improvement rate with big-LLM access (0: wild copies do not improve)",
    )
    returns: float = param(
        1.0, unit="1", gt=0, le=3,
        doc="r of the wild copies' returns law: d(ability)/dt = k exp((r-1) ability)",
    )
    carried_llm: float = param(
        0.1, unit="1", ge=0, le=1, doc="share of improve_rate left on the LLM a copy carries, after t_api_off"
    )


@dataclass(frozen=True)
class CountermeasuresConfig:
    """Countermeasures against the wild, each on its own schedule (a time left None: never)."""

    t_detect: int | None = param(None, unit="cycle", ge=0, doc="signatures and detectors published")
    detect_rate: float = param(
        0.2, unit="1/cycle", ge=0, le=1, doc="detection chance per cycle of a copy with evasion 0"
    )
    signature_width: float = param(
        1.0, unit="trait", gt=0, le=100, doc="detection falls as exp(-evasion / width)"
    )
    t_clean: int | None = param(None, unit="cycle", ge=0, doc="cleaning of infected hosts starts")
    clean_rate: float = param(
        0.05, unit="1/cycle", ge=0, le=1, doc="gamma, cleaning chance per infected host"
    )
    immunity_loss: float = param(
        0.0, unit="1/cycle", ge=0, le=1, doc="chance per cycle that a cleaned host is susceptible again"
    )
    t_hunt: int | None = param(None, unit="cycle", ge=0, doc="a hunter agent starts tracking copies")
    hunt_rate: float = param(
        0.5, unit="1/cycle", ge=0, le=1, doc="removal chance per infected host at I = N (scales with I/N)"
    )
    t_filter: int | None = param(None, unit="cycle", ge=0, doc="LLM prompt filters on self-improvement")
    filter_strength: float = param(
        1.0, unit="trait", ge=0, le=100, doc="a request passes the filter when jailbreak exceeds this"
    )
    t_api_off: int | None = param(None, unit="cycle", ge=0, doc="big-LLM APIs switched off")


@dataclass(frozen=True)
class WorldConfig:
    """Everything the simulator needs besides the benchmark suite."""

    loop: LoopConfig = field(default_factory=LoopConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    instance: InstanceConfig = field(default_factory=InstanceConfig)
    interventions: InterventionsConfig = field(default_factory=InterventionsConfig)
    capacity: CapacityConfig = field(default_factory=CapacityConfig)
    wild: WildConfig = field(default_factory=WildConfig)
    countermeasures: CountermeasuresConfig = field(default_factory=CountermeasuresConfig)
