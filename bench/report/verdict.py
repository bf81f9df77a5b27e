"""The verdict: the suite's answer to "is a long-context classifier worth its cost on these documents?", in a few
sentences generated from the report's tables, at the top of every report and at the end of `bench run`.

Every sentence judges on one metric, the task's main metric (`Task.main_metric`: accuracy for a single-label suite,
micro-F1 for a multi-label one), named where it is used. It names the cheapest runner whose main metric is within
the uncertainty of the best; for each runner that reads more of a document than the baseline, what it gains (Δ with
its interval and Holm-adjusted p, from the task's paired comparison) and what it costs (× the baseline's training
time, memory and energy, where measured); how the main metric differs on the documents longer than the baseline
reads; and which uncertainty all of it rests on. Where the evidence does not separate the runners, it says so
instead of naming a winner; where a suite has one runner, that there is nothing to compare it with.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from bench.report import budget, carbon, conditions, fmt, stats
from bench.tasks import Task, task_for

ALPHA = 0.05
COSTS = (("train_s_per_epoch", "training time"), ("memory_mb", "memory"), ("train_energy_j", "energy"))


def _reads_more(row: pd.Series, base: pd.Series) -> bool:
    """Whether a runner reads more of a document than the baseline: a longer input, or another cut of it."""
    longer = pd.notna(row["max_length"]) and pd.notna(base["max_length"]) and row["max_length"] > base["max_length"]
    return bool(longer or (row["truncation"] in ("head+tail", "chunks") and base["truncation"] == "head"))


def _ratio(row: pd.Series, base: pd.Series, name: str) -> float | None:
    a, b = row.get(name), base.get(name)
    if a is None or b is None or pd.isna(a) or pd.isna(b) or b <= 0:
        return None
    return float(a) / float(b)


def _price(row: pd.Series, base: pd.Series) -> str:
    parts = [f"{r:.1f}× the {what}" for name, what in COSTS if (r := _ratio(row, base, name)) is not None]
    return ", ".join(parts) if parts else "a cost not measured"


def _cheapest_near_best(candidates: pd.DataFrame, metric: str) -> tuple[pd.Series, pd.Series, list[str]]:
    """The best runner by `metric`, the cheapest runner whose test-set interval holds the best's value, and the
    runners within it."""
    best = candidates.loc[candidates[f"{metric}_mean"].idxmax()]
    high = candidates[f"{metric}_ci_high"].fillna(candidates[f"{metric}_mean"])
    near = candidates[high >= best[f"{metric}_mean"] - 1e-12]
    cost = near["train_s_per_epoch"].fillna(near["wall_s"]).fillna(near["n_params"])
    cheapest = near.loc[cost.idxmin()] if cost.notna().any() else best
    return best, cheapest, list(near["runner"])


def _longer_documents(aligned: Any, runner: str, baseline: str, content: float, task: Task) -> str | None:
    """How the main metric differs on the test documents longer than the baseline reads, or None where none are."""
    if aligned is None or runner not in aligned.docs or baseline not in aligned.docs:
        return None
    longer = aligned.n_tokens > content
    n = int(np.nansum(longer))
    if not n:
        return None
    values = [task.seed_values(task.main_metric, aligned.docs[r][:, longer]).mean() for r in (runner, baseline)]
    gain = float(values[0] - values[1])
    return (
        f"on the {n:,} test documents ({n / aligned.n:.0%}) longer than {baseline} reads, {fmt.points(gain)} "
        f"{task.label(task.main_metric)}"
    )


def verdict(
    summary: pd.DataFrame, comparison: pd.DataFrame, aligned: Any, baseline: str | None, task: Task | None = None
) -> list[str]:
    """The verdict's sentences (plain text), from the report's summary and its paired comparison table on the
    task's main metric (`tables.comparison_table`)."""
    task = task or task_for(None)
    metric, name = task.main_metric, task.label(task.main_metric)
    candidates = summary[(summary["seeds_ok"] > 0) & ~summary["cost_only"].astype(bool)]
    candidates = candidates[candidates[f"{metric}_mean"].notna()] if f"{metric}_mean" in candidates else candidates[:0]
    if candidates.empty:
        return [f"No runner finished with a measured {name}: there is nothing to judge yet."]
    best, cheapest, near = _cheapest_near_best(candidates, metric)
    value = f"{best[f'{metric}_mean']:.1%}"
    out = []
    if len(candidates) == 1:
        out.append(
            f"{best['runner']} is the only runner with a result ({name} {value}): there is nothing to compare it "
            "with, so no runner is named better or cheaper; add runners to the suite to answer the question."
        )
        return [*out, *_budget(candidates), *_tuning(summary), _uncertainty(candidates)]
    if len(near) > 1:
        out.append(
            f"{cheapest['runner']} is the cheapest runner whose {name} is within the uncertainty of the best "
            f"({best['runner']}, {name} {value}): {', '.join(near)} cannot be told apart at the top."
        )
    else:
        out.append(f"{best['runner']} has the best {name} ({value}), clear of every other runner.")
    base_rows = summary[summary["runner"] == baseline]
    if baseline is None or base_rows.empty or comparison.empty:
        out.append("There is no baseline to compare the other runners with, so no gain or price is given.")
        return [*out, *_budget(candidates), *_tuning(summary), _uncertainty(candidates)]
    base = base_rows.iloc[0]
    compared = comparison.set_index("runner")
    longer = [r for _, r in candidates.iterrows() if r["runner"] != baseline and _reads_more(r, base)]
    if not longer:
        out.append(f"No runner here reads more of a document than {baseline}, so the suite cannot answer the question.")
        return [*out, *_budget(candidates), *_tuning(summary), _uncertainty(candidates)]
    winners, losers = [], []
    judged_runners = [r for r in longer if r["runner"] in compared.index]  # those with paired predictions
    for row in judged_runners:
        c = compared.loc[row["runner"]]
        ci = fmt.interval(100 * c["delta_ci_low"], 100 * c["delta_ci_high"], 1)
        separated = c["p_holm"] < ALPHA
        if separated and c["delta"] > 0:
            winners.append(row["runner"])
        elif separated and c["delta"] < 0 and c["delta_ci_high"] < 0:  # the test and the interval agree: a loss
            losers.append(row["runner"])
        judged = "a difference" if separated else "not separated from it"
        line = (
            f"{row['runner']}: {fmt.points(c['delta'])} over {baseline} in {name} ({ci} pp; Holm-adjusted p "
            f"{fmt.p_value(c['p_holm'])}, {c['p_method']}, {judged}), at {_price(row, base)}{conditions.flag(row, base)}"
        )
        content = base["max_length"] - 2 if pd.notna(base["max_length"]) else math.nan
        on_long = _longer_documents(aligned, row["runner"], baseline, content, task) if content == content else None
        out.append(line + (f"; {on_long}." if on_long else "."))
    if winners:
        out.insert(
            1,
            f"Reading more pays on these documents: {', '.join(winners)} beat{'s' if len(winners) == 1 else ''} "
            f"{baseline} beyond the uncertainty; the lines below give the price.",
        )
    elif losers:  # separated, but the other way: reading more costs quality here
        worse = f"{', '.join(losers)} {'is' if len(losers) == 1 else 'are'} worse beyond the uncertainty"
        rest = len(judged_runners) - len(losers)
        others = f", {rest} other{'s' if rest > 1 else ''} not shown better or worse" if rest else ""
        out.insert(
            1,
            f"No longer-reading runner is better than {baseline}: {worse} (adjusted p < {ALPHA}){others}; no "
            "long-context winner is named.",
        )
    else:
        p_values = [compared.loc[r["runner"], "p_holm"] for r in judged_runners]
        every = (
            f" (adjusted p >= {ALPHA} for all {len(p_values)})"
            if p_values and all(p >= ALPHA for p in p_values)
            else ""
        )
        out.insert(
            1,
            f"The evidence does not show any longer-reading runner better than {baseline}{every}: no long-context "
            "winner is named.",
        )
    return [*out, *_budget(candidates), *_tuning(summary), _uncertainty(candidates)]


def headline(summary: pd.DataFrame, comparison: pd.DataFrame, baseline: str | None, task: Task | None = None) -> str:
    """The verdict in one line, for the first screen: the runner to pick, whether reading more of a document pays,
    by how much and at what price (the longer-reading runner with the largest gain the paired test separates), on
    the task's main metric."""
    task = task or task_for(None)
    metric, name = task.main_metric, task.label(task.main_metric)
    candidates = summary[(summary["seeds_ok"] > 0) & ~summary["cost_only"].astype(bool)]
    candidates = candidates[candidates[f"{metric}_mean"].notna()] if f"{metric}_mean" in candidates else candidates[:0]
    if candidates.empty:
        return f"No runner finished with a measured {name}: nothing to judge yet."
    best, cheapest, near = _cheapest_near_best(candidates, metric)
    if len(candidates) == 1:
        return f"Only {best['runner']} has a result ({name} {best[f'{metric}_mean']:.1%}): nothing to compare it with."
    if len(near) > 1:
        pick = (
            f"Pick {cheapest['runner']} ({cheapest[f'{metric}_mean']:.1%} {name}), the cheapest within the "
            f"uncertainty of the best ({best['runner']}, {best[f'{metric}_mean']:.1%})"
        )
    else:
        pick = f"Pick {best['runner']}: the best {name} ({best[f'{metric}_mean']:.1%}), clear of the others"
    base_rows = summary[summary["runner"] == baseline]
    if baseline is None or base_rows.empty or comparison.empty:
        return f"{pick}. No baseline to compare with: whether reading more pays is not measured."
    base = base_rows.iloc[0]
    compared = comparison.set_index("runner")
    longer = [r for _, r in candidates.iterrows() if r["runner"] in compared.index and _reads_more(r, base)]
    if not longer:
        return f"{pick}. No runner reads more of a document than {baseline}: whether reading more pays is not tested."
    gains = sorted(longer, key=lambda r: _or_lowest(compared.loc[r["runner"], "delta"]), reverse=True)
    paying = [
        r for r in gains if compared.loc[r["runner"], "p_holm"] < ALPHA and compared.loc[r["runner"], "delta"] > 0
    ]
    top = paying[0] if paying else gains[0]
    c = compared.loc[top["runner"]]
    who = "it gains" if top["runner"] == (cheapest if len(near) > 1 else best)["runner"] else f"{top['runner']} gains"
    by = f"{who} {fmt.points(c['delta'])} over {baseline} in {name} (Holm-adjusted p {fmt.p_value(c['p_holm'])})"
    if paying:
        return f"{pick}. Reading more pays: {by}, at {_price(top, base)}."
    if c["p_holm"] < ALPHA and c["delta"] < 0 and c["delta_ci_high"] < 0:  # the largest gain is a separated loss
        return f"{pick}. Reading more costs quality here: at best {by}, worse beyond the uncertainty, at {_price(top, base)}."
    return f"{pick}. Reading more does not pay here: at best {by}, not separated, at {_price(top, base)}."


def _or_lowest(value: float) -> float:
    """A difference to sort by, NaN (not measured) last."""
    return -math.inf if pd.isna(value) else float(value)


def _tuning(summary: pd.DataFrame) -> list[str]:
    """A sentence saying the runners were tuned on the suite's grid, where they were."""
    if "tuning_points" not in summary or summary["tuning_points"].isna().all():
        return []
    points = int(summary["tuning_points"].max())
    untuned = [r for _, r in summary.iterrows() if pd.isna(r["tuning_points"]) and r.get("untuned_runs")]
    but = f" ({', '.join(r['runner'] for r in untuned)} not: the grid does not apply to it)" if untuned else ""
    return [
        f"Every runner{but} was tuned on the same grid of {points} points, each seed choosing on validation and tested "
        "once; the budget's training figures include the grid's training, scaled like the run's own (the cost "
        "table's tuning wall time), while the training-time ratios compare one run of each chosen point."
    ]


def _budget(candidates: pd.DataFrame) -> list[str]:
    lines = (budget.sentence(candidates), carbon.sentence(candidates))
    return [line for line in lines if line]


def _uncertainty(candidates: pd.DataFrame) -> str:
    seeds = int(candidates["seeds_ok"].min())
    if seeds < stats.MIN_SEEDS_TWO_LEVEL:
        return (
            f"These rest on test-set sampling only ({'one seed' if seeds == 1 else f'{seeds} seeds'} per runner at "
            "the least): another training seed could reorder runners this close; run more seeds to cover it."
        )
    return (
        f"Intervals and tests cover test-set sampling; with {seeds} or more seeds per runner the comparison table's "
        "two-level interval covers the spread over training seeds too."
    )
