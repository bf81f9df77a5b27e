"""The report's tables as pandas DataFrames (also written as CSV): per runner, against the baseline, by length."""

from __future__ import annotations

import difflib
import math

import numpy as np
import pandas as pd

from bench.report import stats
from bench.report.errors import ReportError
from bench.report.load import OK, AlignedPredictions, SuiteResults

METRICS = ("accuracy", "f1", "precision", "recall")
COST_FIELDS = ("train_tokens_per_s", "train_s_per_epoch", "eval_samples_per_s", "wall_s", "n_params")


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


def memory_kind(runs: pd.DataFrame) -> str:
    """'gpu' when any successful run measured GPU memory, else 'cpu' (the CPU RSS is shown instead)."""
    ok = runs[runs["status"] == OK]
    return "gpu" if ok["peak_gpu_mem_mb"].notna().any() else "cpu"


def _status_text(statuses: pd.Series) -> str:
    """'1 failed, 2 oom': the runs that did not finish, by status in name order."""
    counts = statuses[statuses != OK].value_counts()
    return ", ".join(f"{counts[status]} {status}" for status in sorted(counts.index))


def summary_table(results: SuiteResults, aligned: AlignedPredictions | None, order: list[str]) -> pd.DataFrame:
    """One row per runner: quality (mean, std over seeds, bootstrap CI) and cost, with run counts and statuses.

    Quality means come from the records; the CIs come from the predictions of the same runs. Cost columns are
    means over successful runs. `memory_mb` is peak GPU memory allocated, or peak CPU RSS where the runner has no
    GPU measurement (`memory_kind` says which).
    """
    runs = results.runs.copy()
    runs["train_s_per_epoch"] = runs["train_s"] / runs["n_epochs"]
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
            "seeds_ok": len(ok),
            "seeds_run": len(group),
            "seeds_in_suite": len(all_seeds),
            "missing_seeds": " ".join(str(s) for s in all_seeds if s not in set(group["seed"])),
            "not_ok": _status_text(group["status"]),
        }
        for metric in METRICS:
            s = stats.seed_stats(ok[metric])
            row |= {f"{metric}_mean": s.mean, f"{metric}_std": s.std, f"{metric}_n": s.n}
        cis: dict[str, tuple[float, float]] = {}
        if aligned is not None and runner in aligned.preds and aligned.n:
            cis = stats.bootstrap_classification(aligned.labels, aligned.preds[runner], n_classes)
        for metric in METRICS:
            row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = cis.get(metric, (math.nan, math.nan))
        row["ci_seeds"] = len(aligned.seeds.get(runner, [])) if aligned is not None else 0
        gpu = ok["peak_gpu_mem_mb"].notna().any()
        memory = stats.seed_stats(ok["peak_gpu_mem_mb" if gpu else "peak_cpu_rss_mb"])
        row |= {"memory_mb": memory.mean, "memory_mb_std": memory.std, "memory_kind": "gpu" if gpu else "cpu"}
        for name in COST_FIELDS:
            s = stats.seed_stats(ok[name])
            row |= {name: s.mean, f"{name}_std": s.std}
        row["device"] = ", ".join(sorted(ok["device"].dropna().astype(str).unique()))
        row["gpu_name"] = ", ".join(sorted(ok["gpu_name"].dropna().astype(str).unique()))
        rows.append(row)
    return pd.DataFrame(rows)


def pick_baseline(results: SuiteResults, requested: str | None) -> str | None:
    """The runner the others are compared with.

    Default: the runner with max_length 512, head truncation and no attention window, preferring a name with
    "roberta"; failing that, the shortest such head-truncated runner (a suite of tiny models may not use 512).

    Raises:
        ReportError: `requested` is not a runner of the suite.
    """
    runners = results.runners
    if requested is not None:
        if requested not in runners:
            close = difflib.get_close_matches(requested, runners, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ReportError(
                f"unknown baseline runner '{requested}' for suite '{results.suite}'; {hint}"
                f"runners with results: {', '.join(runners)}"
            )
        return requested
    runs = results.runs
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


def comparison_table(aligned: AlignedPredictions | None, order: list[str], baseline: str | None) -> pd.DataFrame:
    """Each runner against the baseline on the same test examples.

    `delta_accuracy` is the seed-averaged accuracy difference (runner minus baseline) on the shared examples,
    its CI a paired bootstrap over those examples, and `p_value` the paired sign-flip test of
    `stats.paired_sign_flip_test` (the exact McNemar test when each runner has one seed).
    """
    columns = ["runner", "baseline", "delta_accuracy", "delta_ci_low", "delta_ci_high", "p_value", "p_method"]
    columns += ["n_examples", "better", "worse", "seeds", "baseline_seeds"]
    if aligned is None or baseline is None or baseline not in aligned.preds or not aligned.n:
        return pd.DataFrame(columns=columns)
    runners = [r for r in order if r in aligned.preds]
    correct = np.stack([aligned.correct(r) for r in runners], axis=1)  # (n, R)
    boot = stats.bootstrap_sums(correct) / aligned.n  # same resamples for every runner: the CI is paired
    base = runners.index(baseline)
    rows = []
    for j, runner in enumerate(runners):
        if runner == baseline:
            continue
        s_a, s_b = len(aligned.seeds[runner]), len(aligned.seeds[baseline])
        diff = correct[:, j] - correct[:, base]
        units = np.rint(diff * s_a * s_b).astype(np.int64)
        lo, hi = stats.percentile_ci(boot[:, j] - boot[:, base])
        method = "exact McNemar" if s_a == s_b == 1 else "paired sign-flip"
        rows.append(
            {
                "runner": runner,
                "baseline": baseline,
                "delta_accuracy": float(diff.mean()),
                "delta_ci_low": lo,
                "delta_ci_high": hi,
                "p_value": stats.paired_sign_flip_test(units),
                "p_method": method,
                "n_examples": aligned.n,
                "better": int((units > 0).sum()),
                "worse": int((units < 0).sum()),
                "seeds": s_a,
                "baseline_seeds": s_b,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def length_table(aligned: AlignedPredictions | None, order: list[str], max_lengths: list[int]) -> pd.DataFrame:
    """Accuracy per runner and document-length bucket (mean and std over seeds), with the bucket's size."""
    columns = ["runner", "bucket", "bucket_index", "n_examples", "accuracy_mean", "accuracy_std", "seeds"]
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
            rows.append([runner, label, i, int(mask.sum()), s.mean, s.std, s.n])
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

    Failed runs are left out: a history cut short would pull the mean of its epochs away from the others'.
    """
    ok = results.runs.loc[results.runs["status"] == OK, ["runner", "seed"]]
    epochs = results.epochs.merge(ok, on=["runner", "seed"]).dropna(subset=["epoch"])
    if epochs.empty:
        return pd.DataFrame(columns=["runner", "epoch"])
    value_columns = [c for c in epochs.columns if c not in ("runner", "seed", "epoch")]
    grouped = epochs.groupby(["runner", "epoch"])[value_columns]
    table = grouped.mean().add_suffix("_mean").join(grouped.std(ddof=1).add_suffix("_std"))
    return table.join(grouped.size().rename("seeds")).reset_index()
