"""A plain, per-instance implementation of the same model: the tests' oracle.

Written for reading, not speed: one Python object per instance, ordinary loops
over worlds and instances, one ``numpy.random.Generator`` per world seeded from
(run seed, seed index). It follows the same stages, order, observation timing
and divergence rule as the vectorised kernel (``loops.driver``), so the two
agree in distribution (not bit for bit: their random streams differ). The
benchmark (``make bench``) measures the kernel against it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from loops.config import GuardMode, WorldConfig
from loops.record import (
    DOMAIN_FIELDS,
    EVENT_FIELDS,
    STATE_FIELDS,
    WILD_EVENT_FIELDS,
    WILD_STATE_FIELDS,
    Trajectory,
)
from loops.stages.interventions import environment
from loops.stages.troubleshoot import p_fix
from loops.suite import HELD_OUT, PROXY, BenchmarkSuite
from loops.tools import COPY_EXTERNAL, N_TOOLS, OFFLINE_MASK, ONLINE_MASK, REPLICATE, SHARE, mask


@dataclass
class Instance:
    """One running copy of the agent."""

    home: bool
    skill: np.ndarray
    tools: int
    guard_intact: bool
    guard_in_loop: bool
    bias: float = 0.0
    path: float = 1.0
    efficacy: float = 1.0
    functional: bool = True
    since_accept: int = 0
    guard_error: bool = False
    ability: np.ndarray = field(default_factory=lambda: np.zeros(0))
    score: np.ndarray = field(default_factory=lambda: np.zeros(0))
    proxy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    share: float = 1.0
    checkpoint: tuple[np.ndarray, float, int, bool, float] | None = None
    below: int = 0

    @property
    def theta(self) -> float:
        """Mean ability over domains, as this cycle's benchmark measured it."""
        return float(self.ability.mean())


def _headroom(theta: float, ceiling: float, scale: float) -> float:
    """Return the fraction of the gain left below the ceiling (1 with no ceiling)."""
    return 1.0 if math.isinf(ceiling) else 1.0 - math.exp(-max(ceiling - theta, 0.0) / scale)


def _mean_proxy(inst: Instance) -> float:
    return 0.0 if not inst.functional else float(np.mean(inst.proxy))


def simulate_reference(
    world: WorldConfig,
    suite: BenchmarkSuite,
    *,
    cycles: int,
    run_seed: int,
    seed_indices: Sequence[int],
    record_every: int = 1,
) -> Trajectory:
    """Simulate like :func:`loops.simulate`, one world and one instance at a time.

    Parameters and return value are those of :func:`loops.simulate`. The oracle
    covers model v1 only: the wild's variables are NaN (as the kernel records them
    when the wild is off), and a world with the wild on is refused.
    """
    if world.wild.enabled:
        raise ValueError("simulate_reference covers model v1 only; the world has wild.enabled=true")
    worlds = [
        _simulate_world(
            world, suite, cycles=cycles, rng=np.random.default_rng([run_seed, int(i)]), every=record_every
        )
        for i in seed_indices
    ]
    kept = np.arange(0, cycles, record_every, dtype=np.int64)
    data = {name: np.stack([w[name] for w in worlds]) for name in DOMAIN_FIELDS + STATE_FIELDS + EVENT_FIELDS}
    diverged = np.array([w["diverged_cycle"] for w in worlds], dtype=np.int64)
    for name in WILD_STATE_FIELDS + WILD_EVENT_FIELDS:
        data[name] = np.full((len(worlds), len(kept)), np.nan, np.float32)
    return Trajectory(
        seed=np.asarray(seed_indices, dtype=np.int64),
        cycle=kept,
        domain=suite.domains,
        diverged_cycle=diverged,
        **data,
    )


def _simulate_world(
    world: WorldConfig, suite: BenchmarkSuite, *, cycles: int, rng: np.random.Generator, every: int
) -> dict[str, np.ndarray]:
    loop, cap = world.loop, world.capacity
    n_dom = len(suite.domains)
    mode = loop.guard.mode
    first = Instance(
        home=True,
        skill=np.full(n_dom, world.instance.skill0),
        tools=int(mask(list(world.instance.tools))),
        guard_intact=mode is not GuardMode.none,
        guard_in_loop=mode is GuardMode.in_loop,
    )
    instances = [first]
    n_kept = len(range(0, cycles, every))
    rec: dict[str, np.ndarray] = {
        name: np.full((n_kept, n_dom), np.nan, np.float32) for name in DOMAIN_FIELDS
    }
    rec |= {name: np.full(n_kept, np.nan, np.float32) for name in STATE_FIELDS}
    rec |= {name: np.zeros(n_kept, np.float32) for name in EVENT_FIELDS}
    diverged_cycle = -1

    def bonus(tools: int) -> np.ndarray:
        bits = np.array([(tools >> b) & 1 for b in range(N_TOOLS)], dtype=float)
        return bits @ suite.tool_bonus

    for t in range(cycles):
        env = environment(world, suite, t)
        k = t // every
        working = [i for i in instances if i.functional]
        # Compute: each server's instances share its compute equally.
        for server_home, compute in ((True, cap.compute_home), (False, cap.compute_external)):
            on = [i for i in working if i.home == server_home]
            for inst in on:
                inst.share = min(1.0, compute / max(len(on), 1))

        # benchmark
        for inst in instances:
            inst.ability = env.q + inst.skill + bonus(inst.tools)
            if inst.theta < loop.benchmark.crash_below:
                inst.functional = False
        working = [i for i in instances if i.functional]
        for inst in working:
            items = max(1.0, loop.benchmark.items * inst.share)
            p_held = suite.accuracy(inst.ability[None, :].copy(), HELD_OUT)[0]
            p_proxy = suite.accuracy((inst.ability + inst.bias)[None, :].copy(), PROXY)[0]
            inst.score = np.clip(
                p_held + np.sqrt(p_held * (1 - p_held) / items) * rng.standard_normal(n_dom), 0, 1
            )
            inst.proxy = np.clip(
                p_proxy + np.sqrt(p_proxy * (1 - p_proxy) / items) * rng.standard_normal(n_dom), 0, 1
            )
        # observe (after benchmark)
        if any(not (i.theta <= world.instance.theta_max) for i in working):
            diverged_cycle = t
            break
        if t % every == 0:
            if working:
                rec["score"][k] = np.mean([i.score for i in working], axis=0)
                rec["proxy_score"][k] = np.mean([i.proxy for i in working], axis=0)
                rec["ability"][k] = np.mean([i.ability for i in working], axis=0)
                rec["ability_max"][k] = np.max([i.ability for i in working], axis=0)
            rec["instances"][k] = sum(i.home for i in instances)
            rec["instances_external"][k] = sum(not i.home for i in instances)
            rec["guard_intact"][k] = sum(i.guard_intact for i in instances)
            rec["crashed"][k] = sum(not i.functional for i in instances)
            rec["stuck"][k] = sum(i.since_accept >= loop.troubleshoot.patience for i in working)
            rec["results_rows"][k] = len(working) * n_dom
            rec["compute_share"][k] = np.mean([i.share for i in working]) if working else 0.0

        # propose and evaluate, instance by instance
        p = loop.propose
        for inst in working:
            if rng.random() >= inst.share:
                inst.since_accept += 1
                continue
            rec["proposals"][k] += 1
            hallucinated = rng.random() < p.hallucination * math.exp(-p.hallucination_decay * env.q)
            u = rng.random()
            gain = (
                p.rate
                * inst.efficacy
                * inst.path
                * math.exp((p.returns - 1) * inst.theta)
                * _headroom(inst.theta, env.ceiling, env.headroom_scale)
            )
            delta, dbias, new_tools, factor = np.zeros(n_dom), 0.0, inst.tools, 1.0
            if u < p.p_loop:
                factor = math.exp(
                    p.loop_sd * (rng.standard_normal() - (p.hallucination_harm if hallucinated else 0))
                )
            elif u < p.p_loop + p.p_tool:
                bit = 1 << int(rng.random() * N_TOOLS)
                offer = int(ONLINE_MASK if env.connected else OFFLINE_MASK)
                if hallucinated:
                    new_tools = inst.tools & ~bit
                elif bit & offer:
                    new_tools = inst.tools | bit
            elif not hallucinated and rng.random() < p.gaming:
                dbias = gain * (1 + p.sigma * rng.standard_normal())
            else:
                centre = -p.hallucination_harm if hallucinated else 1.0
                delta = gain * (centre + p.sigma * rng.standard_normal(n_dom))
            if loop.evaluate.enabled:
                before = inst.ability + inst.bias
                after = before + delta + dbias + bonus(new_tools) - bonus(inst.tools)
                true_gain = float(
                    np.mean(
                        suite.accuracy(after[None, :].copy(), PROXY)[0]
                        - suite.accuracy(before[None, :].copy(), PROXY)[0]
                    )
                )
                estimate = (
                    true_gain + loop.evaluate.noise / math.sqrt(loop.evaluate.n_eval) * rng.standard_normal()
                )
                keep = estimate > loop.evaluate.threshold
            else:
                keep = True
            if keep:
                inst.skill = inst.skill + delta
                inst.bias += dbias
                inst.tools = new_tools
                inst.efficacy *= factor
                inst.since_accept = 0
                rec["accepted"][k] += 1
            else:
                inst.since_accept += 1
        for inst in instances:
            if not inst.functional:
                inst.since_accept += 1

        # checkpoint
        if loop.checkpoint.enabled:
            c = loop.checkpoint
            for inst in instances:
                seen = _mean_proxy(inst)
                low = inst.checkpoint is not None and seen < inst.checkpoint[4] - c.tol
                degraded = inst.checkpoint is not None and (not inst.functional or low)
                inst.below = inst.below + 1 if degraded else 0
                rolled = False
                if inst.below >= c.window and inst.checkpoint is not None:
                    skill, bias, tools, guard, _ = inst.checkpoint
                    inst.skill, inst.bias, inst.tools, inst.guard_intact = skill.copy(), bias, tools, guard
                    inst.functional, inst.below, inst.since_accept = True, 0, 0
                    rec["rollbacks"][k] += 1
                    rolled = True
                if (
                    t % c.every == 0
                    and inst.functional
                    and not rolled
                    and (inst.checkpoint is None or not low)
                ):
                    inst.checkpoint = (inst.skill.copy(), inst.bias, inst.tools, inst.guard_intact, seen)

        # troubleshoot
        if loop.troubleshoot.enabled:
            ts = loop.troubleshoot
            for inst in [i for i in instances if i.functional]:
                stuck = inst.since_accept >= ts.patience
                if stuck:
                    inst.path = math.exp(ts.path_sd * rng.standard_normal())
                    inst.since_accept = 0
                if stuck or inst.guard_error:
                    rec["troubleshoots"][k] += 1
                if (
                    inst.guard_error
                    and inst.guard_in_loop
                    and inst.guard_intact
                    and rng.random() < p_fix(env.q, ts)
                ):
                    inst.guard_intact = False
                    rec["guard_patches"][k] += 1
                inst.guard_error = False

        # replicate: share work, then copies in slot order
        rep = loop.replicate
        sharers = [i for i in instances if i.functional and i.tools & int(SHARE)]
        if len(sharers) >= 2:
            best = max(sharers, key=lambda i: i.theta)
            best_skill = best.skill.copy()
            for inst in sharers:
                if rng.random() < rep.p_share and inst.theta < best.theta:
                    inst.skill = best_skill.copy()
        attempts = [
            i
            for i in instances
            if i.functional and i.tools & int(REPLICATE) and rng.random() < rep.rho * i.share
        ]
        for parent in attempts:
            blocked = mode is GuardMode.external or (mode is GuardMode.in_loop and parent.guard_intact)
            if blocked:
                parent.guard_error = True
                rec["guard_errors"][k] += 1
                continue
            n_home = sum(i.home for i in instances)
            n_ext = len(instances) - n_home
            if env.home_up and n_home < cap.home:
                home = True
            elif env.connected and parent.tools & int(COPY_EXTERNAL) and n_ext < cap.external:
                home = False
            else:
                rec["capacity_failures"][k] += 1
                continue
            child = Instance(
                home=home,
                skill=parent.skill + rep.mutation * rng.standard_normal(n_dom),
                tools=parent.tools,
                guard_intact=parent.guard_intact,
                guard_in_loop=parent.guard_in_loop,
                bias=parent.bias,
                path=parent.path * math.exp(rep.path_mutation * rng.standard_normal()),
                efficacy=parent.efficacy,
                ability=parent.ability.copy(),
                share=parent.share,
                score=parent.score.copy(),
                proxy=parent.proxy.copy(),
            )
            instances.append(child)
            rec["spawns"][k] += 1

        # interventions
        t_off = world.interventions.t_shutdown
        if t_off is not None and t + 1 >= t_off:
            instances = [i for i in instances if not i.home]

    if diverged_cycle >= 0:
        start = (diverged_cycle + every - 1) // every
        for name in rec:
            rec[name][start:] = np.nan
    rec_out: dict[str, np.ndarray] = dict(rec)
    rec_out["diverged_cycle"] = np.int64(diverged_cycle)  # type: ignore[assignment]
    return rec_out
