"""`bench report`: its arguments and what it runs."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `bench report` options to `parser`."""
    parser.add_argument(
        "--suite",
        default=None,
        help="suite to report on (default: the one suite with results there, else demo)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        action="append",
        help="results folder (default: results/); repeat it to merge folders from several machines",
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: reports/<suite>/)")
    parser.add_argument(
        "--baseline",
        default=None,
        help="runner the others are compared with (default: the suite's 512-token head-truncated runner)",
    )
    add_price_arguments(parser)


def add_price_arguments(parser: argparse.ArgumentParser) -> None:
    """`--gpu-price` and `--currency`: what the report's budget prices a GPU-hour at (`bench report`, `bench run`)."""
    parser.add_argument(
        "--gpu-price",
        type=float,
        metavar="PRICE",
        help="price of one GPU-hour for the budget columns, e.g. 2.5 (default: the shipped, dated list price of "
        "each run's GPU, bench/report/prices.yaml; none where the GPU is not listed)",
    )
    parser.add_argument("--currency", default="USD", help="currency of --gpu-price (default: USD)")


def run(args: argparse.Namespace) -> int:
    """Build the report and say where it is. A `ReportError` propagates to `bench`'s one-line error handler."""
    import sys

    from bench.cli import essential
    from bench.cli.paths import check_out_folder
    from bench.report import build_report

    def warn(line: str) -> None:
        print(f"bench: warning: {line}", file=sys.stderr)

    check_out_folder(args.out)
    folders = args.results or [Path("results")]
    suite = args.suite or _default_suite(folders)
    _check_suite_exists(suite, folders)
    md_path = build_report(folders, suite, args.out, args.baseline, warn, args.gpu_price, args.currency)
    essential(f"report: {md_path}")
    print(f"        {md_path.with_name('report.html')} (self-contained)")
    print(f"tables: {md_path.parent / 'tables'}/*.csv   plots: {md_path.parent / 'plots'}/*.png, *.svg")
    return 0


def _default_suite(folders: list[Path]) -> str:
    """No --suite: the one suite with results in `folders` (a `bench run --suite X` then a plain `bench report`),
    else demo where it has results or nothing has; several others are refused with their names."""
    from bench.errors import BenchError
    from bench.results.store import ResultStore

    with_results = _suites_with_records([ResultStore(folder) for folder in folders])
    if len(with_results) == 1:
        return with_results[0]
    if not with_results or "demo" in with_results:
        return "demo"
    where = ", ".join(map(str, folders))
    raise BenchError(
        f"{where} {'holds' if len(folders) == 1 else 'hold'} results of several suites ({', '.join(with_results)}); "
        "pass --suite with the one to report on"
    )


def _check_suite_exists(suite: str, folders: list[Path]) -> None:
    """A name that is neither a suite bench knows nor one with results gets told what exists, instead of the
    report's advice to `bench run` a suite that cannot run."""
    from bench.data.suite import suite_sources
    from bench.errors import BenchError
    from bench.results.store import ResultStore

    known = suite_sources()[0]
    if suite in known:
        return
    stores = [ResultStore(folder) for folder in folders]
    try:
        if any(store.keys(suite) for store in stores):
            return
    except BenchError:  # a name no folder can hold: the report says so
        return
    with_results = _suites_with_records(stores)
    have = f"suites with results there: {', '.join(with_results)}" if with_results else "no suite has results there"
    raise BenchError(
        f"no suite named {suite!r} and no results for it in {', '.join(map(str, folders))} ({have}; suites: "
        f"{', '.join(sorted(known))}); pass --suite with one of those"
    )


def _suites_with_records(stores: list) -> list[str]:
    """The suites with at least one record in any of `stores` (a `runs/` folder of a sweep stopped before its first
    record does not count)."""
    return sorted({name for store in stores for name in store.suites() if store.keys(name)})
