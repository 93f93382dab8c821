"""``takeoff-report STORE --out DIR``: analyse a sweep store and write the report.

Exit codes: 0 the report is written (runs left out are stated on its first
line); 2 a user's mistake (a path that is not a store, an ``--out`` that cannot
be written), one line, nothing written; 3 not every run is done: under
``--verify`` or ``--strict``, or when no run is left to analyse.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Collection

    from analysis.reanalyse import ClusterOptions, Reanalysis
    from results.store import SweepStore

#: Exit codes (DESIGN section 3, "Verify").
EXIT_OK, EXIT_USAGE, EXIT_NOT_DONE = 0, 2, 3


def _parser() -> argparse.ArgumentParser:
    from analysis.growth import MIN_EFFECT

    parser = argparse.ArgumentParser(prog="takeoff-report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("store", help="sweep store path or fsspec URL (results.zarr)")
    parser.add_argument("--out", default="report", help="output directory (default: report)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--verify", action="store_true",
                        help="read every chunk of every run and print each run's status "
                             "(done, failed, damaged, incomplete, missing); exit 3 unless all are done")
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
                        help="analyse every run again from its trajectories, on a Dask cluster (below), "
                             "even where the store holds its analysis by the current analysis code")
    parser.add_argument("--min-effect", type=float, default=None, metavar="X",
                        help=f"the plateau rule's minimum effect in ln C units (default {MIN_EFFECT}): "
                             "a trailing window whose gain left is below it is a plateau; any other "
                             "value analyses every run again from its trajectories, as --reanalyse does")
    where = parser.add_argument_group(
        "where --reanalyse (or --min-effect) analyses",
        "the Dask launcher's keys of the same names (hydra.launcher.cluster, n_workers,\n"
        "address, connect_timeout); by default a LocalCluster of one worker process per\n"
        "core, closed after use")
    where.add_argument("--cluster", default="local", metavar="KIND",
                       help="local: a LocalCluster (processes, one thread each, no dashboard); "
                            "sync: in this process, one task after another (default: local)")
    where.add_argument("--n-workers", default="0", metavar="N",
                       help="worker processes of the LocalCluster (default 0: one per core)")
    where.add_argument("--address", default="", metavar="URL",
                       help="an existing Dask scheduler (tcp://host:8786) instead of a LocalCluster; "
                            "its workers need this takeoff installed")
    where.add_argument("--connect-timeout", default="10", metavar="S",
                       help="seconds to wait for the scheduler at --address (default 10)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 3 when any run is not done, also when none is left to analyse")
    return parser


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


def _fail(message: str) -> int:
    print(f"takeoff-report: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    from analysis import sensitivity

    try:
        sensitivity.check_scenario(args.scenario or sensitivity.DEFAULT_SCENARIO)
    except sensitivity.ScenarioError as err:
        return _fail(str(err))
    from analysis.growth import MIN_EFFECT

    if args.min_effect is not None and not (math.isfinite(args.min_effect) and args.min_effect > 0):
        return _fail(f"--min-effect {args.min_effect}: give a positive number of ln C units "
                     f"(the default is {MIN_EFFECT})")
    min_effect = MIN_EFFECT if args.min_effect is None else args.min_effect
    cluster = _cluster_options(args)
    if isinstance(cluster, str):
        return _fail(cluster)
    phase = tuple(args.phase.split(",")) if args.phase else None
    if phase is not None and (len(phase) != 2 or not all(phase) or phase[0] == phase[1]):
        return _fail(f"--phase {args.phase!r}: give two different parameters as X,Y")

    import results
    from results.verify import store_statuses

    try:
        store = results.SweepStore(args.store, create=False)
        if args.verify:
            return _verify(store.url)
        if args.scenario is not None and sensitivity.load_design(store.url) is None:
            return _fail(f"--scenario needs a store written by a design sweep (hydra/sweeper=design); "
                         f"{args.store} holds none")
        statuses = store_statuses(store)
    except results.StoreError as err:
        return _fail(str(err))
    return _report(store, statuses, Path(args.out), quiet=args.quiet, strict=args.strict,
                   scenario=args.scenario or sensitivity.DEFAULT_SCENARIO, replicates=args.replicate,
                   phase=phase, reanalyse=args.reanalyse or min_effect != MIN_EFFECT, min_effect=min_effect,
                   cluster=cluster)


def _cluster_options(args: argparse.Namespace) -> Any:
    """Return the :class:`analysis.reanalyse.ClusterOptions` the arguments give, or what is wrong (a str)."""
    from analysis.reanalyse import ClusterOptions, options_problem

    try:
        n_workers = int(args.n_workers)
    except ValueError:
        return f"--n-workers {args.n_workers!r}: give a number of worker processes (0: one per core)"
    try:
        timeout = float(args.connect_timeout)
    except ValueError:
        return f"--connect-timeout {args.connect_timeout!r}: give a positive number of seconds"
    options = ClusterOptions(cluster=args.cluster, n_workers=n_workers, address=args.address,
                             connect_timeout=timeout)
    problem = options_problem(options)
    if problem is not None:
        return problem
    if options != ClusterOptions() and not (args.reanalyse or args.min_effect is not None):
        given = [f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(options)
                 if getattr(options, f.name) != getattr(ClusterOptions(), f.name)]
        return (f"{', '.join(given)} says where --reanalyse (or --min-effect) analyses, and neither is "
                f"given; add --reanalyse to analyse every run again there")
    return options


def _verify(url: str) -> int:
    import pandas as pd

    import results
    from results.verify import DONE, left_out_line, status_counts

    table = results.verify(url)
    if len(table):
        widths = {c: max(len(c), *(len(str(v)) for v in table[c])) for c in table.columns}
        left = {c: (lambda v, w=widths[c]: f"{v!s:<{w}}") for c in table.columns}
        with pd.option_context("display.max_rows", None, "display.max_colwidth", None, "display.width", None):
            print(table.to_string(index=False, formatters=left, justify="left"))
    else:
        print("the store knows no run")
    counts = status_counts(table["status"])
    print(left_out_line(counts.pop(DONE, 0), counts).replace("analysed", "done"))
    if counts:
        print(_what_to_do(url))
    return EXIT_OK if (table["status"] == DONE).all() else EXIT_NOT_DONE


def _what_to_do(url: str) -> str:
    return (f"To recompute the runs that are not done, rerun the sweep command that wrote {url} "
            f"(the same hydra.sweep.dir, or store={url}): it computes only those.")


def _report(store: SweepStore, statuses: dict[str, tuple[str, str, list[str]]], out: Path, *, quiet: bool,
            strict: bool, scenario: str, replicates: list[str], phase: tuple[str, ...] | None,
            reanalyse: bool, min_effect: float, cluster: ClusterOptions | None = None) -> int:
    """Analyse the sound runs, leave out (and count) every other run, write the report."""
    import warnings

    import pandas as pd
    from tqdm import tqdm

    from analysis.growth import MIN_EFFECT
    from analysis.report import write_report
    from results import schema
    from results.store import StoreError
    from results.sweep import open_sweep
    from results.verify import DAMAGED, DONE, STATUSES, DamagedRunError, damaged, left_out_line, status_counts

    def order(row: dict[str, str]) -> tuple[int, str]:
        return (STATUSES.index(row["status"]) if row["status"] in STATUSES else len(STATUSES), row["run_id"])

    ds = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            ds = open_sweep(store.url)
        except StoreError:
            ds = None  # no run is left to analyse: every run is accounted for below
    for warning in caught:  # never hidden: which runs are damaged, how many are left out
        print(f"takeoff-report: warning: {warning.message}", file=sys.stderr)
    left: dict[str, dict[str, str]] = {
        rid: {"run_id": rid, "status": status, "reason": reason, "overrides": " ".join(overrides)}
        for rid, (status, reason, overrides) in statuses.items() if status != DONE}
    if ds is None and not left:
        return _fail(f"the store {store.url!r} holds no run (nothing planned, written or failed); "
                     f"give the path of a store a sweep has written to")
    problem = (_check_keys(ds, replicates, phase) if ds is not None else None) or out_problem(out)
    if problem is not None:
        return _fail(problem)
    pair = (phase[0], phase[1]) if phase is not None else None
    note = ""
    excluded: set[str] = set()
    reanalysis, where = None, ""
    if reanalyse and ds is not None:
        from analysis.reanalyse import ClusterOptions

        try:
            reanalysis, where = _reanalyse(store, ds, cluster or ClusterOptions(), quiet=quiet,
                                           min_effect=min_effect)
            note = f"--reanalyse: every run analysed again from its trajectories, {where}"
        except _Refused as err:
            return _fail(str(err))
        if reanalysis.damaged:  # a chunk failed its checksum: leave its runs out, as below
            given = {str(r): o for r, o in zip(ds[schema.RUN_ID].values, _overrides(ds), strict=True)}
            by_reason: dict[str, list[str]] = {}
            for rid, reason in sorted(reanalysis.damaged.items()):
                told = damaged([rid], {rid: given.get(rid, "").split()}, reason)
                print(f"takeoff-report: warning: {told}", file=sys.stderr)
                left[rid] = {"run_id": rid, "status": DAMAGED, "reason": reason,
                             "overrides": given.get(rid, "")}
                by_reason.setdefault(reason, []).append(rid)
            for reason, ids in by_reason.items():
                store.record_damage(ids, reason)  # so that a rerun of the sweep recomputes them
            excluded.update(reanalysis.damaged)
            ds = _reopen(store.url, excluded)
    if reanalysis is not None:
        analysis = None if ds is None else reanalysis.dataset(ds)
    else:
        analysis = None if reanalyse or ds is None else _stored_analysis(store.url, ())
    if analysis is not None and ds is not None:
        from analysis.stored import fresh_runs

        stale = int((~fresh_runs(ds, analysis)).sum())
        if stale:
            note = (f"{stale} of {ds.sizes['run']} runs hold no analysis by the current analysis code "
                    f"(older code, or none stored): analysed again from their trajectories in this process "
                    f"(--reanalyse analyses every run on a Dask cluster)")
    if ds is not None and min_effect != MIN_EFFECT:
        note = (f"--min-effect {min_effect} (the jobs analysed with {MIN_EFFECT}): every run analysed again "
                f"from its trajectories" + (f", {where}" if reanalysis is not None else ""))
    written: dict[str, Any] | None = None
    while ds is not None and ds.sizes[schema.RUN]:
        line = left_out_line(ds.sizes[schema.RUN], status_counts(r["status"] for r in left.values()))
        table = pd.DataFrame(sorted(left.values(), key=order),
                             columns=["run_id", "status", "reason", "overrides"])
        try:
            with tqdm(total=ds.sizes[schema.RUN], desc="runs", unit="run", disable=quiet or None) as bar:
                written = write_report(ds, out, failures=table, progress=bar.update, preface=line,
                                       scenario=scenario, replicates=replicates, phase=pair,
                                       analysis=analysis, min_effect=min_effect)
            break
        except DamagedRunError as err:  # a chunk failed its checksum: leave its runs out, start again
            print(f"takeoff-report: warning: {err}", file=sys.stderr)
            given = {str(r): o for r, o in zip(ds[schema.RUN_ID].values, _overrides(ds), strict=True)}
            new = [rid for rid in err.run_ids if rid in given and rid not in excluded]
            if not new:
                raise
            for rid in new:
                left[rid] = {"run_id": rid, "status": DAMAGED, "reason": err.reason, "overrides": given[rid]}
            store.record_damage(new, err.reason)  # so that a rerun of the sweep recomputes them
            excluded.update(new)
            # Opened afresh without them: a block of the old sweep would read them again.
            ds = _reopen(store.url, excluded)
            if reanalysis is not None:
                analysis = None if ds is None else reanalysis.dataset(ds)
            elif analysis is not None:
                analysis = _stored_analysis(store.url, excluded)
        except OSError as err:
            return _fail(f"cannot write the report into {str(out)!r}: {err.strerror or err}")
    analysed = 0 if written is None or ds is None else ds.sizes[schema.RUN]
    print(left_out_line(analysed, status_counts(r["status"] for r in left.values())))
    for row in sorted(left.values(), key=order):
        print(f"  {row['status']:<10} {row['run_id']}  {row['overrides'] or '(no overrides)'}"
              + (f"  {row['reason']}" if row["reason"] else ""))
    if left:
        print(_what_to_do(store.url))
    if note:
        print(note)
    if written is None:
        print(f"takeoff-report: no run of {store.url} is left to analyse; no report written "
              f"(see takeoff-report {store.url} --verify)", file=sys.stderr)
        return EXIT_NOT_DONE
    print(written["text"])
    print(f"report: {Path(written['report']).resolve()}")
    return EXIT_NOT_DONE if strict and left else EXIT_OK


class _Refused(Exception):
    """The reanalysis cannot be done as asked; the message is one line for the user."""


def _reanalyse(store: SweepStore, ds: Any, cluster: ClusterOptions, *, quiet: bool,
               min_effect: float) -> tuple[Reanalysis, str]:
    """Analyse every run of ``ds`` again on the cluster ``cluster`` gives; return it and where it ran."""
    from tqdm import tqdm

    from analysis import reanalyse
    from analysis.world import analysis_digest
    from results import schema

    ids = [str(r) for r in ds[schema.RUN_ID].values]
    try:
        with reanalyse.connect(cluster) as client:
            workers = 1 if client is None else len(client.nthreads())
            with tqdm(total=len(ids), desc="reanalyse", unit="run", disable=quiet or None) as bar:
                done = reanalyse.reanalyse(store, ids, client, min_effect=min_effect, progress=bar.update)
    except reanalyse.ReanalyseError as err:
        raise _Refused(str(err)) from err
    other = done.digests - {analysis_digest()}
    if other:
        raise _Refused(f"the workers at --address {cluster.address} run other analysis code (digest "
                       f"{', '.join(sorted(other))}) than this takeoff-report ({analysis_digest()}); "
                       f"install the same takeoff on them")
    workers_ = f"{workers} worker{'' if workers == 1 else 's'}"
    where = (f"the scheduler at {cluster.address} ({workers_})" if cluster.address
             else "this process" if client is None else f"a LocalCluster of {workers_}")
    n = len(ids) - len(done.damaged)
    return done, f"{n} run{'' if n == 1 else 's'} on {where}"


def _reopen(url: str, excluded: Collection[str]) -> Any:
    """Return the sweep opened afresh without ``excluded`` (runs found damaged), or None if none is left."""
    import warnings

    from results.store import StoreError
    from results.sweep import open_sweep

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # printed already
        try:
            return open_sweep(url, exclude=excluded)
        except StoreError:
            return None


def _overrides(ds: Any) -> list[str]:
    import json

    from results import schema

    given = json.loads(ds.attrs.get("overrides", "{}"))
    return [" ".join(given.get(str(r), ())) for r in ds[schema.RUN_ID].values]


def _stored_analysis(store: str, exclude: Collection[str]) -> Any:
    """Return the analysis the jobs stored (``results.open_analysis``), or None where there is none."""
    import results

    try:
        analysis = results.open_analysis(store, exclude=exclude)
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
