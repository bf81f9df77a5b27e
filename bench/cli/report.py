"""`bench report`: its arguments and what it runs."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `bench report` options to `parser`."""
    parser.add_argument("--suite", default="demo", help="suite to report on (default: demo)")
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

    from bench.report import build_report

    def warn(line: str) -> None:
        print(f"bench: warning: {line}", file=sys.stderr)

    md_path = build_report(
        args.results or [Path("results")], args.suite, args.out, args.baseline, warn, args.gpu_price, args.currency
    )
    print(f"report: {md_path}")
    print(f"        {md_path.with_name('report.html')} (self-contained)")
    print(f"tables: {md_path.parent / 'tables'}/*.csv   plots: {md_path.parent / 'plots'}/*.png, *.svg")
    return 0
