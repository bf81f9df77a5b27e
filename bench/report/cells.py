"""Table cells more than one section of the report shows: a runner's name and how many of its seeds finished."""

from __future__ import annotations

import pandas as pd

from bench.report.render import Cell


def runner_cell(runner: str, baseline: str | None, cost_only: bool = False) -> Cell:
    return Cell(runner, "(baseline)" if runner == baseline else "(cost only: random weights)" if cost_only else "")


def seeds_cell(row: pd.Series) -> Cell:
    """'2/3 ok (1 oom)' from a summary row; marked bad unless every seed of the suite finished."""
    detail = [row["not_ok"]] if row["not_ok"] else []
    if row["missing_seeds"]:
        detail.append(f"no run for seed {row['missing_seeds'].replace(' ', ', ')}")
    complete = row["seeds_ok"] == row["seeds_in_suite"]
    return Cell(
        f"{row['seeds_ok']}/{row['seeds_in_suite']} ok",
        f"({'; '.join(detail)})" if detail else "",
        bad=not complete,
        numeric=True,
    )


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 OOM retry', '2 OOM retries'."""
    return f"{n} {word if n == 1 else many or word + 's'}"
