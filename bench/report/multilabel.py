"""The multi-label report's tables: micro-, macro- and samples-F1 with bootstrap CIs over documents, per-label F1,
a paired comparison on per-document F1, and per-document F1 by document length.

Built from the predictions files' label sets (`labels`, `preds`) on the documents every run predicted
(`AlignedPredictions.ids`). A document's F1 is 2|T ∩ P| / (|T| + |P|), 1 where both sets are empty; its mean over
documents is samples-F1. Micro-F1 pools the (document, label) decisions: 2 ΣTP / (2 ΣTP + ΣFP + ΣFN).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.report import stats
from bench.report.load import OK, AlignedPredictions, SuiteResults

P_METHOD = "paired sign-flip on per-document F1"


@dataclass(frozen=True)
class DocumentCounts:
    """Per runner, the true positives, false positives and false negatives of each document, shape (S, n, 3), one
    row per seed in `seeds[runner]`, on the documents `ids`."""

    ids: np.ndarray
    counts: dict[str, np.ndarray]
    seeds: dict[str, list[int]]

    def f1(self, runner: str) -> np.ndarray:
        """Per-document F1, shape (S, n)."""
        tp, fp, fn = np.moveaxis(self.counts[runner].astype(float), -1, 0)
        size = 2 * tp + fp + fn
        return np.where(size == 0, 1.0, 2 * tp / np.maximum(size, 1))


def document_counts(results: SuiteResults, aligned: AlignedPredictions | None) -> DocumentCounts | None:
    """TP/FP/FN per (runner, seed, document) from the predictions' label sets; None without predictions."""
    if aligned is None or not aligned.n or "labels" not in results.predictions.columns:
        return None
    counts = {}
    for runner, seeds in aligned.seeds.items():
        group = results.predictions[results.predictions["runner"] == runner]
        per_seed = []
        for seed in seeds:
            rows = group[group["seed"] == seed].set_index("id").loc[aligned.ids]
            true = [set(json.loads(t)) for t in rows["labels"]]
            pred = [set(json.loads(p)) for p in rows["preds"]]
            per_seed.append([(len(t & p), len(p - t), len(t - p)) for t, p in zip(true, pred, strict=True)])
        counts[runner] = np.asarray(per_seed, dtype=np.int64).reshape(len(seeds), aligned.n, 3)
    return DocumentCounts(aligned.ids, counts, dict(aligned.seeds))


def micro_f1(counts: np.ndarray) -> np.ndarray:
    """Micro-F1 per seed of (S, n, 3) counts."""
    tp, fp, fn = counts.sum(axis=1).T.astype(float)
    return stats.prf_from_counts(tp, fp, fn)[2]


def _boot_micro(counts: np.ndarray) -> np.ndarray:
    """Bootstrap samples over documents of the seed-averaged micro-F1, shape (N_BOOTSTRAP,); the resamples are
    `stats.bootstrap_sums`', the same for every runner (so differences are paired)."""
    s, n, _ = counts.shape
    sums = stats.bootstrap_sums(counts.transpose(1, 0, 2).reshape(n, 3 * s)).reshape(-1, s, 3)
    return stats.prf_from_counts(sums[..., 0], sums[..., 1], sums[..., 2])[2].mean(axis=1)


def _boot_samples(f1: np.ndarray) -> np.ndarray:
    """Bootstrap samples over documents of the seed-averaged samples-F1."""
    return stats.bootstrap_sums(f1.mean(axis=0)[:, None])[:, 0] / f1.shape[1]


GROUPS = ("micro_f1_frequent", "micro_f1_few_shot", "micro_f1_zero_shot")  # by the label's training frequency


def quality_table(results: SuiteResults, docs: DocumentCounts | None, order: list[str]) -> pd.DataFrame:
    """One row per runner: the records' micro/macro/samples-F1, micro precision/recall, micro-F1 of the frequent,
    few-shot and zero-shot labels, and thresholds (mean, std over seeds), with 95% bootstrap CIs over test
    documents of micro- and samples-F1 from the predictions."""
    runs = results.runs[results.runs["status"] == OK]
    rows = []
    for runner in order:
        ok = runs[runs["runner"] == runner]
        if ok.empty:
            continue
        row: dict = {"runner": runner, "seeds": len(ok)}
        for metric in ("micro_f1", "macro_f1", "samples_f1", "micro_precision", "micro_recall", "accuracy", *GROUPS):
            s = stats.seed_stats(ok.get(metric, []))  # records older than the label groups: none
            row |= {f"{metric}_mean": s.mean, f"{metric}_std": s.std}
        row["thresholds"] = ", ".join(f"{t:g}" for t in ok["threshold"].dropna())
        lo = hi = s_lo = s_hi = math.nan
        if docs is not None and runner in docs.counts:
            lo, hi = stats.percentile_ci(_boot_micro(docs.counts[runner]))
            s_lo, s_hi = stats.percentile_ci(_boot_samples(docs.f1(runner)))
        row |= {"micro_f1_ci_low": lo, "micro_f1_ci_high": hi, "samples_f1_ci_low": s_lo, "samples_f1_ci_high": s_hi}
        rows.append(row)
    return pd.DataFrame(rows)


def per_label_table(results: SuiteResults, order: list[str]) -> pd.DataFrame:
    """Per label and runner: test F1, precision and recall (mean over seeds) and the label's test support."""
    rows = []
    for (runner, _seed), figures in results.per_label.items():
        for label, f in figures.items():
            rows.append(
                {"runner": runner, "label": label, **{k: f.get(k) for k in ("f1", "precision", "recall", "support")}}
            )
    columns = ["runner", "label", "f1", "precision", "recall", "support"]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows, columns=columns).groupby(["runner", "label"], as_index=False).mean()
    rank = {r: i for i, r in enumerate(order)}
    labels = {n: i for i, n in enumerate(results.label_names)}
    return frame.sort_values(["label", "runner"], key=lambda c: c.map(labels if c.name == "label" else rank))


def comparison_table(docs: DocumentCounts | None, order: list[str], baseline: str | None) -> pd.DataFrame:
    """Each runner against the baseline on the same documents: Δ samples-F1 (mean per-document F1, seed-averaged)
    with a paired bootstrap CI and a paired sign-flip test (`stats.paired_permutation_test`, Holm-adjusted over the
    table), and Δ micro-F1 with its paired bootstrap CI. Test-set sampling only: the trained models are fixed."""
    columns = ["runner", "baseline", "delta_samples_f1", "delta_ci_low", "delta_ci_high", "p_value", "p_holm",
               "p_method", "delta_micro_f1", "delta_micro_ci_low", "delta_micro_ci_high", "n_examples", "better",
               "worse"]  # fmt: skip
    if docs is None or baseline not in docs.counts:
        return pd.DataFrame(columns=columns)
    base_f1 = docs.f1(baseline).mean(axis=0)
    base_boot, base_micro = _boot_samples(docs.f1(baseline)), _boot_micro(docs.counts[baseline])
    rows = []
    for runner in (r for r in order if r in docs.counts and r != baseline):
        diff = docs.f1(runner).mean(axis=0) - base_f1
        lo, hi = stats.percentile_ci(_boot_samples(docs.f1(runner)) - base_boot)
        m_lo, m_hi = stats.percentile_ci(_boot_micro(docs.counts[runner]) - base_micro)
        rows.append(
            {
                "runner": runner,
                "baseline": baseline,
                "delta_samples_f1": float(diff.mean()),
                "delta_ci_low": lo,
                "delta_ci_high": hi,
                "p_value": stats.paired_permutation_test(diff),
                "p_method": P_METHOD,
                "delta_micro_f1": float(micro_f1(docs.counts[runner]).mean() - micro_f1(docs.counts[baseline]).mean()),
                "delta_micro_ci_low": m_lo,
                "delta_micro_ci_high": m_hi,
                "n_examples": len(diff),
                "better": int((diff > 1e-12).sum()),
                "worse": int((diff < -1e-12).sum()),
            }
        )
    table = pd.DataFrame(rows, columns=columns)
    table["p_holm"] = stats.holm(list(table["p_value"])) if len(table) else []
    return table


def length_table(
    docs: DocumentCounts | None, aligned: AlignedPredictions | None, order: list[str], max_lengths: list[int]
) -> pd.DataFrame:
    """Per-document F1 per runner and length bucket (mean, std over seeds), in the buckets of the accuracy table:
    `tables.length_table`'s columns, with `samples_f1_*` where it has `accuracy_*`."""
    columns = [
        "runner",
        "bucket",
        "bucket_index",
        "n_examples",
        "samples_f1_mean",
        "samples_f1_std",
        "seeds",
        "tokens_of",
    ]
    if docs is None or aligned is None or np.isnan(aligned.n_tokens).all():
        return pd.DataFrame(columns=columns)
    edges = stats.length_edges(aligned.n_tokens, max_lengths)
    labels = stats.bucket_labels(edges)
    index = stats.bucket_index(aligned.n_tokens, edges)
    rows = []
    for runner in (r for r in order if r in docs.counts):
        f1 = docs.f1(runner)
        for i, label in enumerate(labels):
            mask = index == i
            if mask.any():
                s = stats.seed_stats(f1[:, mask].mean(axis=1))
                rows.append([runner, label, i, int(mask.sum()), s.mean, s.std, s.n, aligned.tokens_of])
    return pd.DataFrame(rows, columns=columns)
