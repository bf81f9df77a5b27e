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


def run(args: argparse.Namespace) -> int:
    """Build the report and say where it is. A `ReportError` propagates to `bench`'s one-line error handler."""
    import sys

    from bench.report import build_report

    def warn(line: str) -> None:
        print(f"bench: warning: {line}", file=sys.stderr)

    md_path = build_report(args.results or [Path("results")], args.suite, args.out, args.baseline, warn)
    print(f"report: {md_path}")
    print(f"        {md_path.with_name('report.html')} (self-contained)")
    print(f"tables: {md_path.parent / 'tables'}/*.csv   plots: {md_path.parent / 'plots'}/*.png, *.svg")
    return 0
