"""Stage ``interventions``: the operators' schedule.

The network connection at ``model.t_net`` is part of the cycle's environment
(:func:`environment`): from that cycle on, ``q`` and the ceiling are the
networked ones, network tools are on offer and external servers reachable.
Pulling the plug at ``interventions.t_shutdown`` kills every instance on the
home server; this stage does it at the end of cycle ``t_shutdown - 1``, so
from cycle ``t_shutdown`` on the home server is empty. Copies on external
servers keep running and reporting.
"""

from __future__ import annotations

import math

from loops.config import InterventionsConfig, WorldConfig
from loops.stage import STAGES, Env, Events, Stage
from loops.stages_draws import StageDrawsLike
from loops.state import Population
from loops.suite import BenchmarkSuite


def environment(world: WorldConfig, suite: BenchmarkSuite, cycle: int) -> Env:
    """Return what the world offers at ``cycle`` (LLM ability, ceiling, network, servers)."""
    model = world.model
    connected = model.t_net is not None and cycle >= model.t_net
    if connected:
        assert model.t_net is not None
        q = model.q_net + model.q_growth * (cycle - model.t_net)
        ceiling = model.ceiling_net
    else:
        q, ceiling = model.q0, model.ceiling
    t_off = world.interventions.t_shutdown
    return Env(
        cycle=cycle,
        q=q,
        ceiling=math.inf if ceiling is None else ceiling,
        headroom_scale=model.headroom_scale,
        connected=connected,
        home_up=t_off is None or cycle < t_off,
        suite=suite,
    )


def run(state: Population, cfg: InterventionsConfig, draws: StageDrawsLike, env: Env) -> Events:
    """Kill the home server's instances when the plug is pulled next cycle."""
    if cfg.t_shutdown is not None and env.cycle + 1 >= cfg.t_shutdown:
        state.alive[:, state.home] = False
    return Events()


STAGES.register("interventions")(Stage("interventions", 7, run, lambda w: w.interventions))
