"""``takeoff-report STORE --out DIR``: analyse a sweep store and write the report."""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any


def out_problem(out: Path) -> str | None:
    """Return why the report cannot be written into ``out``, or None; creates ``out`` when it can.

    Examples
    --------
    >>> out_problem(Path("/proc/version/report"))
    "--out '/proc/version/report' lies inside the file '/proc/version'; give a directory for the report"
    """
    if out.exists() and not out.is_dir():
        return f"--out {str(out)!r} is a file, not a directory; give a directory for the report"
    parent = out
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent != out and not parent.is_dir():
        return f"--out {str(out)!r} lies inside the file {str(parent)!r}; give a directory for the report"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):  # root may write where the mode bits say no: try it
            pass
    except OSError as err:
        return (f"--out {str(out)!r} cannot be written ({err.strerror or err}); "
                f"give a directory you can write to")
    return None


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="takeoff-report", description=__doc__)
    parser.add_argument("store", help="sweep store path or fsspec URL (results.zarr)")
    parser.add_argument("--out", default="report", help="output directory (default: report)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--replicate",
        action="append",
        default=[],
        metavar="KEY",
        help="a parameter that replicates runs (pooled into its variant, like run.seed); repeatable",
    )
    parser.add_argument(
        "--phase", metavar="X,Y", help="draw the phase diagram of this pair of parameters only"
    )
    parser.add_argument("--scenario", default=None, metavar="EXPR",
                        help="design stores: the condition over per-run outputs that scenario discovery "
                             "(PRIM) looks for (default: 'p_takeoff >= 0.5')")
    parser.add_argument("--reanalyse", action="store_true",
                        help="analyse every run from its trajectories, even where the store holds its "
                             "analysis by the current analysis code")
    args = parser.parse_args(argv)
    from analysis import sensitivity

    try:
        sensitivity.check_scenario(args.scenario or sensitivity.DEFAULT_SCENARIO)
    except sensitivity.ScenarioError as err:
        print(f"takeoff-report: {err}", file=sys.stderr)
        return 2
    phase = tuple(args.phase.split(",")) if args.phase else None
    if phase is not None and (len(phase) != 2 or not all(phase) or phase[0] == phase[1]):
        print(f"takeoff-report: --phase {args.phase!r}: give two different parameters as X,Y",
              file=sys.stderr)
        return 2

    import results
    from analysis.report import write_report

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            ds = results.open_sweep(args.store)
        for warning in caught:  # never hidden: how many runs are left out (issue 11, item 3)
            print(f"takeoff-report: warning: {warning.message}", file=sys.stderr)
        failed = results.failures(args.store)
        if args.scenario is not None and sensitivity.load_design(args.store) is None:
            print(f"takeoff-report: --scenario needs a store written by a design sweep "
                  f"(hydra/sweeper=design); {args.store} holds none", file=sys.stderr)
            return 2
    except results.StoreError as err:
        print(f"takeoff-report: {err}", file=sys.stderr)
        return 2
    problem = _check_keys(ds, args.replicate, phase) or out_problem(Path(args.out))
    if problem is not None:
        print(f"takeoff-report: {problem}", file=sys.stderr)
        return 2
    analysis = None if args.reanalyse else _stored_analysis(args.store)
    if analysis is not None:
        from analysis.stored import fresh_runs

        stale = int((~fresh_runs(ds, analysis)).sum())
        if stale:
            print(f"{stale} of {ds.sizes['run']} runs hold no analysis by the current analysis code "
                  f"(older code, or none stored): analysed again from their trajectories")
    from tqdm import tqdm

    with tqdm(total=ds.sizes["run"], desc="runs", unit="run", disable=args.quiet or None) as bar:
        written = write_report(ds, Path(args.out), failures=failed, progress=bar.update,
                               replicates=args.replicate, phase=phase,
                               scenario=args.scenario or sensitivity.DEFAULT_SCENARIO, analysis=analysis)
    if len(failed):
        print(f"{len(failed)} failed run{'' if len(failed) == 1 else 's'} (left out of the analysis):")
        for _, row in failed.iterrows():
            print(f"  {row['run_id']}  {row['overrides']}  {row['error']}")
    print(written["text"])
    print(f"report: {Path(written['report']).resolve()}")
    return 0


def _stored_analysis(store: str) -> Any:
    """Return the analysis the jobs stored (``results.open_analysis``), or None where there is none."""
    import results

    try:
        analysis = results.open_analysis(store)
    except results.StoreError:
        return None
    return analysis if "regime" in analysis else None


def _check_keys(ds: Any, replicate: list[str], phase: tuple[str, ...] | None) -> str | None:
    """Return what is wrong with ``--replicate`` and ``--phase`` for this store, or None."""
    from analysis.sensitivity import mark_design_parameters
    from analysis.summary import DESIGN_PARAMETER, run_parameters
    from analysis.variants import REPLICATES, SIZES

    ds = mark_design_parameters(ds)
    params = [p for p in run_parameters(ds) if not ds[p].attrs.get(DESIGN_PARAMETER)]
    for key in replicate:
        if key not in params:
            return f"--replicate {key}: not a parameter of this store; its parameters: {', '.join(params)}"
    if phase is not None:
        pooled = set(REPLICATES) | set(SIZES) | set(replicate)
        swept = [p for p in params if p not in pooled and len({str(v) for v in ds[p].values}) > 1]
        for key in phase:
            if key not in swept:
                return (f"--phase {','.join(phase)}: {key} is not a swept parameter of this store "
                        f"(replicates and sizes are pooled); swept: {', '.join(swept) or 'none'}")
    return None


if __name__ == "__main__":
    raise SystemExit(main())
