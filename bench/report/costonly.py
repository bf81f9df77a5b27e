"""Runs that measure cost only: a pretrained runner's architecture with random weights (`init: random` in the
record). Their memory, time and throughput are those of the real model; their accuracy is that of a model that
learned nothing before fine-tuning, so the report shows their cost and keeps them out of every quality result
(quality table, rankings, paired tests, accuracy by length, learning curves, accuracy plots, Pareto fronts)."""

from __future__ import annotations

import pandas as pd

from bench.report.render import Code, Paragraph, Strong

COST_ONLY_INIT = "random"
LABEL = "cost only: random weights"


def cost_only_runners(runs: pd.DataFrame) -> list[str]:
    """Runners with a random-init record (records written before `init` existed have none)."""
    random = runs["init"].astype(str) == COST_ONLY_INIT
    return sorted(str(r) for r in runs.loc[random, "runner"].unique())


def quality_view(frame: pd.DataFrame, cost_only: list[str]) -> pd.DataFrame:
    """`frame` without the rows of cost-only runners."""
    return frame[~frame["runner"].isin(cost_only)]


def note(cost_only: list[str], where: str) -> Paragraph:
    """Why `cost_only` runners are missing from `where`."""
    return Paragraph.of(
        Strong("Cost only"),
        f" (left out of {where}): ",
        ", ".join(cost_only),
        ". They ran the real architecture with random weights (",
        Code("--random-init"),
        "), so their cost is the model's, and their accuracy says nothing about it.",
        alert=True,
    )
