"""`bench leaderboard`: its arguments and what it runs."""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """examples:
  bench leaderboard                                  # every suite under results/ -> reports/leaderboard.{md,html,csv}
  bench leaderboard --results results --suites demo,imdb
  bench leaderboard --results run-a --results run-b  # records copied off several machines
  bench leaderboard --gpu-price 2.5 --out reports/all
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `bench leaderboard` options to `parser`."""
    from bench.cli.report import add_price_arguments

    parser.add_argument(
        "--results",
        type=Path,
        action="append",
        help="results folder holding the suites (default: results/); repeat it to merge folders",
    )
    parser.add_argument(
        "--suites",
        type=lambda text: [s.strip() for s in text.split(",") if s.strip()],
        help="comma-separated suites to show (default: every suite with results)",
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: reports/)")
    add_price_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Write the leaderboard and say where it is; a `BenchError` becomes `bench`'s one-line error."""
    import sys

    from bench.cli.paths import check_out_folder
    from bench.report.budget import Pricing
    from bench.report.leaderboard import write

    def warn(line: str) -> None:
        print(f"bench: warning: {line}", file=sys.stderr)

    check_out_folder(args.out)
    pricing = Pricing(args.gpu_price, args.currency)
    md = write(args.results or [Path("results")], args.out, args.suites, pricing, warn)
    print(f"leaderboard: {md}")
    print(f"             {md.with_name('leaderboard.html')} (sortable, self-contained)")
    print(f"             {md.with_name('leaderboard.csv')}")
    return 0
