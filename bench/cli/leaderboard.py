"""`bench leaderboard`: its arguments and what it runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

EXAMPLES = """examples:
  bench leaderboard                                  # every suite under results/: the table, and
                                                     # reports/leaderboard.{md,html,csv}
  bench leaderboard --format json                    # the table's rows as JSON (leaderboard.csv's columns)
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
    from bench.cli import add_format

    add_format(parser)


def run(args: argparse.Namespace) -> int:
    """Write the leaderboard, print its table (or `document`) and say where the files are; a `BenchError` becomes
    `bench`'s one-line error."""
    import sys

    import pandas as pd

    from bench.cli import essential, print_json
    from bench.cli.paths import check_out_folder
    from bench.report.budget import Pricing
    from bench.report.leaderboard import write

    def warn(line: str) -> None:
        print(f"bench: warning: {line}", file=sys.stderr)

    check_out_folder(args.out)
    pricing = Pricing(args.gpu_price, args.currency)
    md = write(args.results or [Path("results")], args.out, args.suites, pricing, warn)
    table = pd.read_csv(md.with_name("leaderboard.csv"), keep_default_na=False, na_values=[""])
    if args.format == "json":
        print_json(document(md, table))
        return 0
    print(text_table(table))
    print()
    essential(f"leaderboard: {md}")
    print(f"             {md.with_name('leaderboard.html')} (sortable, self-contained)")
    print(f"             {md.with_name('leaderboard.csv')}")
    return 0


def metric_columns(table: pd.DataFrame) -> list[str]:
    """The `<suite>.<metric>` columns of leaderboard.csv: those with a `_ci_low` beside them."""
    return [c for c in table.columns if f"{c}_ci_low" in table.columns]


def text_table(table: pd.DataFrame) -> str:
    """leaderboard.csv for a terminal: per suite its main metric with the 95% CI and the rank, then the mean rank
    (over how many suites) and the median training cost."""
    import pandas as pd

    from bench.report.fmt import MISSING

    def number(value: float, spec: str) -> str:
        return MISSING if pd.isna(value) else format(value, spec)

    shown = pd.DataFrame({"runner": table["runner"]})
    for column in metric_columns(table):
        suite = column.rsplit(".", 1)[0]
        low, high = table[f"{column}_ci_low"], table[f"{column}_ci_high"]
        ci = [
            f" [{number(lo, '.3f')}, {number(hi, '.3f')}]" if pd.notna(lo) else ""
            for lo, hi in zip(low, high, strict=True)
        ]
        rank = table.get(f"{suite}.rank", pd.Series(float("nan"), index=table.index))
        shown[column] = [
            f"{number(v, '.3f')}{c}{f' #{r:g}' if pd.notna(r) else ''}"
            for v, c, r in zip(table[column], ci, rank, strict=True)
        ]
    shown["mean rank"] = [
        f"{number(r, '.2f')} ({n:g})" if pd.notna(r) else MISSING
        for r, n in zip(table["mean_rank"], table["suites_ranked"], strict=True)
    ]
    hours = [
        f"{number(h, '.3g')} {k}-h" if pd.notna(h) else MISSING
        for h, k in zip(table["train_device_h_median"], table["device_kind"].fillna(""), strict=True)
    ]
    shown["train (median)"] = hours
    if table["train_cost_median"].notna().any():
        shown["cost (median)"] = [
            f"{number(m, '.2f')} {c}" if pd.notna(m) else MISSING
            for m, c in zip(table["train_cost_median"], table["currency"].fillna(""), strict=True)
        ]
    return shown.to_string(index=False)


def document(md: Path, table: pd.DataFrame) -> dict:
    """`bench leaderboard --json`. Keys: `files` (md, html, csv), `suites` (one per suite column: suite, metric,
    column), `rows` (one per runner, sorted by mean rank; the keys are leaderboard.csv's columns: `runner`,
    `<suite>.<metric>`, `<suite>.<metric>_ci_low`, `<suite>.<metric>_ci_high`, `<suite>.rank`, `mean_rank`,
    `suites_ranked`, `device_kind`, `train_device_h_median`, `train_cost_median`, `currency`, `cost_note`; a value
    that does not exist is null)."""
    suites = []
    for column in metric_columns(table):
        suite, metric = column.rsplit(".", 1)
        suites.append({"suite": suite, "metric": metric, "column": column})
    files = {"md": str(md), "html": str(md.with_name("leaderboard.html")), "csv": str(md.with_name("leaderboard.csv"))}
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    return {"files": files, "suites": suites, "rows": rows}
