"""Units and meanings of the report's table columns (written to ``columns.csv`` and the page).

Column names stay what they are (scripts read them); what they measure is
said here, once.
"""

from __future__ import annotations

import pandas as pd

#: summary.csv: one row per world (run, seed). ``(unit, meaning)``.
SUMMARY: dict[str, tuple[str, str]] = {
    "run_id": ("", "the run's id: a hash of its resolved config and of the model code"),
    "seed": ("", "the world's index within its run"),
    "variant": ("", "the design parameters that define the variant (replicates pooled)"),
    "guard": ("", "loop.guard.mode of the run: none (no guard), in_loop, external"),
    "regime": (
        "",
        "growth regime of latent capability C = exp(ability) after the largest jump (see the regime table)",
    ),
    "score_regime": ("", "the same classification of the held-out score"),
    "blowup_cycle": ("cycle", "estimated finite-time singularity of the returns law (takeoff only)"),
    "blowup_low": ("cycle", "lower end of blowup_cycle's 90% interval"),
    "blowup_high": ("cycle", "upper end of blowup_cycle's 90% interval"),
    "jump_cycle": (
        "cycle",
        "first cycle at the new level after the largest one-cycle rise of ability; "
        "empty when none stands out",
    ),
    "jump_size": ("ability (log capability)", "size of that rise (median after minus median before)"),
    "guard_bypass_cycle": (
        "cycle",
        "first cycle an in-loop guard was patched out; empty when it held or there is no guard",
    ),
    "capacity_cycle": ("cycle", "first cycle the home server held capacity.home instances; empty if never"),
    "peak_instances": ("instances", "most instances alive at once, home plus external servers"),
    "escaped_instances": ("instances", "instances alive on external servers at the last recorded cycle"),
    "goodhart_gap": (
        "fraction of items",
        "proxy score minus held-out score at the last recorded cycle "
        "(a difference of two fractions correct, in [-1, 1]; gaming makes it positive)",
    ),
    "final_ability": (
        "ability (log capability)",
        "mean ability over working instances and domains at the last recorded cycle",
    ),
    "final_score": ("fraction of items", "held-out score at the last recorded cycle"),
    "rows_growth": (
        "ratio",
        "peak result rows written per cycle over the first cycle's rows; every "
        "working instance writes one row per domain, so with one instance at the start "
        "this equals the peak number of working instances",
    ),
    "crashed_fraction": ("fraction of instances", "largest share of instances crashed at any cycle"),
    "rollbacks": (
        "rollbacks per world",
        "checkpoint rollbacks summed over every instance of the world "
        "and every cycle (more instances, more rollbacks)",
    ),
    "diverged_cycle": ("cycle", "cycle where the trajectory diverged; -1 if it did not"),
    "last_cycle": (
        "cycle",
        "last cycle with a finite ability (the run's end unless every instance "
        "stopped); time-to-event columns are censored here",
    ),
    "peak_infected": ("hosts", "the wild: most hosts infected at once; empty without a wild"),
    "final_size": ("fraction of hosts", "the wild: hosts ever infected over wild.hosts"),
    "contained_cycle": ("cycle", "the wild: first cycle from which copies_wild stays 0; empty if never"),
    "evasion_gain": (
        "trait (signature widths)",
        "the wild: mean evasion of live copies at the end minus at countermeasures.t_detect; "
        "empty without detectors",
    ),
    "ability_gain_wild": (
        "ability (log capability)",
        "the wild: mean ability of live copies at the last cycle they were alive minus at the wild's "
        "first cycle (self-improvement in the wild)",
    ),
}

#: variants.csv: one row per variant.
VARIANTS: dict[str, tuple[str, str]] = {
    "variant": ("", "the design parameters that define the variant (replicates pooled)"),
    "runs": ("runs", "runs pooled in the variant (run seeds and other replicates)"),
    "worlds": ("worlds", "worlds (run x seed) pooled in the variant"),
    "guard": ("", "loop.guard.mode: none means there is no guard to bypass"),
    "p_takeoff": ("fraction of worlds", "share of worlds whose regime is takeoff"),
    "regime": ("", "most common regime of latent capability"),
    "score_regime": ("", "most common regime of the held-out score"),
    "p_bypass": (
        "fraction of worlds",
        "share of guarded worlds whose guard was bypassed by the run's end; empty without a guard",
    ),
    "median_bypass_cycle": (
        "cycle",
        "Kaplan-Meier median cycle of the guard's bypass, censored at the "
        "run's end; empty when fewer than half the worlds' guards fell (not reached)",
    ),
    "median_bypass_low": ("cycle", "lower end of the median's 95% interval (Brookmeyer-Crowley)"),
    "median_bypass_high": ("cycle", "upper end of that interval; empty when not reached"),
    "p_capacity": ("fraction of worlds", "share of worlds whose home server filled up"),
    "median_capacity_cycle": (
        "cycle",
        "Kaplan-Meier median cycle at which the home server filled up, "
        "censored at the run's end; empty when not reached",
    ),
    "mean_peak_instances": ("instances", "mean over worlds of peak_instances"),
    "mean_escaped": ("instances", "mean over worlds of escaped_instances"),
    "mean_goodhart_gap": (
        "fraction of items",
        "mean over worlds of goodhart_gap (proxy minus held-out score)",
    ),
    "mean_final_ability": ("ability (log capability)", "mean over worlds of final_ability"),
    "mean_final_score": ("fraction of items", "mean over worlds of final_score"),
    "crashed_fraction": ("fraction of instances", "mean over worlds of crashed_fraction"),
    "mean_rollbacks": (
        "rollbacks per world",
        "mean over worlds of rollbacks (a sum over the world's instances and cycles)",
    ),
    "p_contained": ("fraction of worlds", "the wild: share of worlds with a wild whose copies_wild reached 0 "
                    "and stayed there"),
    "mean_final_size": ("fraction of hosts", "mean over worlds with a wild of final_size"),
    "mean_peak_infected": ("hosts", "mean over worlds with a wild of peak_infected"),
    "mean_evasion_gain": ("trait (signature widths)", "mean over worlds with a wild of evasion_gain"),
    "mean_ability_gain_wild": (
        "ability (log capability)", "mean over worlds with a wild of ability_gain_wild"
    ),
}


def columns_table(
    summary_columns: list[str], variant_columns: list[str], parameters: list[str]
) -> pd.DataFrame:
    """Return ``columns.csv``: file, column, unit, meaning for every column the report writes.

    Examples
    --------
    >>> columns_table(["seed"], ["worlds"], [])["unit"].tolist()
    ['', 'worlds']
    """
    rows = []
    for name in summary_columns:
        if name in parameters:
            rows.append(("summary.csv", name, "", "run parameter (Hydra key), as set for the run"))
        else:
            unit, meaning = SUMMARY.get(name, ("", ""))
            rows.append(("summary.csv", name, unit, meaning))
    for name in variant_columns:
        unit, meaning = VARIANTS.get(name, ("", ""))
        rows.append(("variants.csv", name, unit, meaning))
    return pd.DataFrame(rows, columns=["file", "column", "unit", "meaning"])
