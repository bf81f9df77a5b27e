"""The report's tables as pandas DataFrames (also written as CSV): per runner, against the baseline, by length."""

from __future__ import annotations

import difflib
import math

import numpy as np
import pandas as pd

from bench.report import cost, costonly, stats
from bench.report.errors import ReportError
from bench.report.load import OK, AlignedPredictions, SuiteResults
from bench.tasks import Task, task_for

METRICS = ("accuracy", "f1", "precision", "recall")


def runner_order(results: SuiteResults, first: str | None = None) -> list[str]:
    """Runners grouped by model family, attention window and max length, so related runners sit together;
    `first` (the baseline) leads."""
    meta = results.runs.groupby("runner").agg(
        family=("model_family", "first"), window=("attention_window", "max"), length=("max_length", "max")
    )
    meta["family"] = meta["family"].fillna("").astype(str)
    meta[["window", "length"]] = meta[["window", "length"]].fillna(-1)
    order = list(meta.sort_values(["family", "window", "length"]).index.astype(str))
    return ([first] if first in order else []) + [r for r in order if r != first]


def _status_text(statuses: pd.Series) -> str:
    """'1 failed, 2 oom': the runs that did not finish, by status in name order."""
    counts = statuses[statuses != OK].value_counts()
    return ", ".join(f"{counts[status]} {status}" for status in sorted(counts.index))


def positive_class(ok: pd.DataFrame, label_names: list[str], n_classes: int) -> tuple[str, int | None, bool]:
    """The class a runner's binary F1, precision and recall are on: (name, label id, named by the records).

    Records name it in `positive_label`; older ones do not, and were computed by the rule of their time (labels
    sorted, binary F1 on label id 1), so their class is the second of `label_names`. The label id is None where the
    recorded name is not one of `label_names` (or the runs disagree); the name is "" for more than two classes.
    """
    if n_classes != 2 or ok["f1_average"].astype(str).isin(["macro", "micro"]).any():  # micro: multi-label
        return "", None, False
    named = sorted(set(ok["positive_label"].dropna().astype(str)))
    if named:
        index = label_names.index(named[0]) if len(named) == 1 and named[0] in label_names else None
        return " / ".join(named), index, True
    return (label_names[1] if len(label_names) == 2 else "label 1"), 1, False


def summary_table(results: SuiteResults, aligned: AlignedPredictions | None, order: list[str]) -> pd.DataFrame:
    """One row per runner: quality (mean, std over seeds, bootstrap CI) and cost, with run counts and statuses.

    Quality means come from the records: accuracy, F1, precision, recall, and every metric the task reports
    (`Task.reported_metrics`, as `<metric>_mean`, `_std`, `_n`, `_ci_low`, `_ci_high`); the CIs come from the
    predictions of the same runs (`Task.intervals`; single-label: F1, precision and recall on the runner's
    `positive_label`, `positive_class`). Cost columns come from `cost.runner_costs`:
    means over successful runs of what they measured.
    """
    runs = results.runs
    # the record metrics every report shows, then the task's own (multi-label: micro-, macro-, samples-F1, ...)
    metrics = list(dict.fromkeys([*METRICS, *results.kind.reported_metrics]))
    n_classes = max(len(results.label_names), 2)
    if aligned is not None and aligned.n:
        n_classes = max(n_classes, int(max(aligned.labels.max(), *(p.max() for p in aligned.preds.values()))) + 1)
    all_seeds = results.seeds
    rows = []
    for runner in order:
        group = runs[runs["runner"] == runner]
        ok = group[group["status"] == OK]
        first = group.iloc[0]
        row = {
            "runner": runner,
            "model_family": first["model_family"],
            "max_length": first["max_length"],
            "attention_window": first["attention_window"],
            "truncation": first["truncation"],
            "init": ", ".join(sorted(group["init"].dropna().astype(str).unique())),
            "cost_only": (group["init"].astype(str) == costonly.COST_ONLY_INIT).any(),
            "seeds_ok": len(ok),
            "seeds_run": len(group),
            "seeds_in_suite": len(all_seeds),
            "missing_seeds": " ".join(str(s) for s in all_seeds if s not in set(group["seed"])),
            "not_ok": _status_text(group["status"]),
        }
        for metric in metrics:
            s = stats.seed_stats(ok[metric])
            row |= {f"{metric}_mean": s.mean, f"{metric}_std": s.std, f"{metric}_n": s.n}
        positive, positive_id, named = positive_class(ok, results.label_names, n_classes)
        row |= {"positive_label": positive, "positive_named": named}
        cis: dict[str, tuple[float, float]] = {}
        if aligned is not None and runner in aligned.preds and aligned.n:
            cis = results.kind.intervals(aligned, runner, n_classes, positive_id)  # over the same test documents
        for metric in metrics:
            row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = cis.get(metric, (math.nan, math.nan))
        row["ci_seeds"] = len(aligned.seeds.get(runner, [])) if aligned is not None else 0
        row |= cost.runner_costs(ok)
        row["device"] = ", ".join(sorted(ok["device"].dropna().astype(str).unique()))
        row["gpu_name"] = ", ".join(sorted(ok["gpu_name"].dropna().astype(str).unique()))
        rows.append(row)
    return pd.DataFrame(rows)


def pick_baseline(results: SuiteResults, requested: str | None) -> str | None:
    """The runner the others are compared with.

    Default: the runner with max_length 512, head truncation and no attention window, preferring a name with
    "roberta"; failing that, the shortest such head-truncated runner (a suite of tiny models may not use 512).
    Cost-only (random-init) runners are never the baseline.

    Raises:
        ReportError: `requested` is not a runner of the suite, or is cost only.
    """
    runners = results.runners
    cost_only = costonly.cost_only_runners(results.runs)
    if requested in cost_only:
        raise ReportError(
            f"baseline '{requested}' ran with random weights (cost only); pick a runner with trained weights"
        )
    if requested is not None:
        if requested not in runners:
            close = difflib.get_close_matches(requested, runners, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ReportError(
                f"unknown baseline runner '{requested}' for suite '{results.suite}'; {hint}"
                f"runners with results: {', '.join(runners)}"
            )
        return requested
    runs = costonly.quality_view(results.runs, cost_only)
    if runs.empty:
        return None
    meta = runs.groupby("runner").agg(
        max_length=("max_length", "max"),
        attention_window=("attention_window", "max"),
        truncation=("truncation", "first"),
        any_ok=("status", lambda s: (s == OK).any()),
    )
    plain = meta[(meta["truncation"].astype(str) == "head") & meta["attention_window"].isna()]
    if plain.empty:
        return None
    # A failed 512 runner is still the baseline (the report then says it has nothing to compare), but an ok one
    # of the same shape is preferred.
    plain = plain.assign(
        failed=~plain["any_ok"].astype(bool),
        not_512=plain["max_length"] != 512,
        not_roberta=~plain.index.str.contains("roberta", case=False),
    )
    return str(plain.sort_values(["not_512", "max_length", "failed", "not_roberta"]).index[0])


def comparison_table(
    aligned: AlignedPredictions | None,
    order: list[str],
    baseline: str | None,
    task: Task | None = None,
    metric: str | None = None,
) -> pd.DataFrame:
    """Each runner against the baseline on the same test examples, on `metric` (default: the task's main metric).

    `delta` (also as `delta_<metric>`) is the seed-averaged difference (runner minus baseline) on the shared
    examples, its CI a paired bootstrap over those examples, and `p_value` the task's paired test (`Task.paired_test`;
    single-label: the exact McNemar test for one seed each, a paired sign-flip test otherwise; multi-label: a
    sign-flip test on per-document F1), `p_holm` the same Holm-adjusted over every comparison of the table
    (`stats.holm`): all of them hold the trained models fixed and cover test-set sampling only. Where `metric` is a
    mean over documents (accuracy) and both runners have `stats.MIN_SEEDS_TWO_LEVEL` seeds or more,
    `delta_seed_ci_low`/`_high` is the two-level bootstrap interval (seeds, then examples) of
    `stats.two_level_bootstrap_delta`, which covers seed-to-seed variation of training too; NaN elsewhere.
    """
    task = task or task_for(None)
    metric = metric or task.main_metric
    columns = [
        "runner",
        "baseline",
        "metric",
        "delta",
        f"delta_{metric}",
        "delta_ci_low",
        "delta_ci_high",
        "p_value",
        "p_holm",
        "p_method",
        "delta_seed_ci_low",
        "delta_seed_ci_high",
        "n_examples",
        "better",
        "worse",
        "seeds",
        "baseline_seeds",
    ]
    if aligned is None or baseline is None or baseline not in aligned.docs or not aligned.n:
        return pd.DataFrame(columns=columns)
    rows = []
    for runner in (r for r in order if r in aligned.docs and r != baseline):
        c = task.compare(metric, aligned.docs[runner], aligned.docs[baseline])
        rows.append(
            {
                "runner": runner,
                "baseline": baseline,
                "metric": metric,
                **c,
                f"delta_{metric}": c["delta"],
                "seeds": len(aligned.seeds[runner]),
                "baseline_seeds": len(aligned.seeds[baseline]),
            }
        )
    table = pd.DataFrame(rows, columns=columns)
    table["p_holm"] = stats.holm(list(table["p_value"])) if len(table) else []  # over this table's comparisons
    return table


def length_table(aligned: AlignedPredictions | None, order: list[str], max_lengths: list[int]) -> pd.DataFrame:
    """Accuracy per runner and document-length bucket (mean and std over seeds), with the bucket's size.

    Lengths are one runner's token counts for every runner (`AlignedPredictions.tokens_of`, the baseline's where
    it has them; column `tokens_of`), so a bucket holds the same documents whichever runner it scores.
    """
    columns = ["runner", "bucket", "bucket_index", "n_examples", "accuracy_mean", "accuracy_std", "seeds", "tokens_of"]
    if aligned is None or not aligned.n or np.isnan(aligned.n_tokens).all():
        return pd.DataFrame(columns=columns)
    edges = stats.length_edges(aligned.n_tokens, max_lengths)
    labels = stats.bucket_labels(edges)
    index = stats.bucket_index(aligned.n_tokens, edges)
    rows = []
    for runner in (r for r in order if r in aligned.preds):
        correct = aligned.preds[runner] == aligned.labels[None, :]  # (S, n)
        for i, label in enumerate(labels):
            mask = index == i
            if not mask.any():
                continue
            s = stats.seed_stats(correct[:, mask].mean(axis=1))
            rows.append([runner, label, i, int(mask.sum()), s.mean, s.std, s.n, aligned.tokens_of])
    return pd.DataFrame(rows, columns=columns)


def status_table(results: SuiteResults, order: list[str]) -> pd.DataFrame:
    """Status of every (runner, seed) of the suite; 'missing' where a runner has no record for a seed."""
    runs = results.runs.set_index(["runner", "seed"])["status"]
    rows = []
    for runner in order:
        rows.append({"runner": runner, **{f"seed {s}": runs.get((runner, s), "missing") for s in results.seeds}})
    return pd.DataFrame(rows)


def failure_table(results: SuiteResults) -> pd.DataFrame:
    """Every run that did not finish, with its error message."""
    failed = results.runs[results.runs["status"] != OK]
    return failed[["runner", "seed", "status", "error", "max_length", "device"]].sort_values(["runner", "seed"])


def learning_curves(results: SuiteResults) -> pd.DataFrame:
    """Validation history per (runner, epoch) of successful runs: mean and std over seeds of each logged metric.

    Failed runs are left out: a history cut short would pull the mean of its epochs away from the others'. So are
    cost-only (random-init) runs: their validation accuracy says nothing about the model.
    """
    runs = costonly.quality_view(results.runs, costonly.cost_only_runners(results.runs))
    ok = runs.loc[runs["status"] == OK, ["runner", "seed"]]
    epochs = results.epochs.merge(ok, on=["runner", "seed"]).dropna(subset=["epoch"])
    if epochs.empty:
        return pd.DataFrame(columns=["runner", "epoch"])
    value_columns = [c for c in epochs.columns if c not in ("runner", "seed", "epoch")]
    grouped = epochs.groupby(["runner", "epoch"])[value_columns]
    table = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=1).add_suffix("_std"))
    return table.join(grouped.size().rename("seeds")).reset_index()
