"""The design sweeper's config, registered in Hydra's ConfigStore as ``hydra/sweeper=design``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DesignSweeperConf:
    """A sampled design crossed with a grid (see ``harness.design``).

    Attributes
    ----------
    method
        ``saltelli`` (n(D+2) runs: first-order and total Sobol indices),
        ``morris`` (n trajectories, n(D+1) runs: ``mu_star``, ``sigma``),
        ``lhs`` or ``sobol`` (n space-filling runs, for scenario discovery).
    n
        The design's size: base samples (``saltelli``, a power of two),
        trajectories (``morris``) or runs (``lhs``; ``sobol``, a power of two).
    seed
        Seed of the design's scrambling / sampling (not of the runs).
    params
        Sweep overrides, like Hydra's basic sweeper: ``interval(lo,hi)``,
        ``tag(log,interval(lo,hi))`` and ``choice(a,b,...)`` are the design's
        parameters; comma lists and ``range()`` form a grid crossed with it.
    max_batch_size
        Jobs handed to the launcher at once (None: all).
    """

    _target_: str = "hydra_plugins.takeoff_launcher.design_sweeper.DesignSweeper"
    method: str = "saltelli"
    n: int = 64
    seed: int = 0
    max_batch_size: int | None = None
    params: dict[str, str] | None = None


def register() -> None:
    """Register ``hydra/sweeper=design``."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(group="hydra/sweeper", name="design", node=DesignSweeperConf,
                                 provider="takeoff")
