"""Multi-label metrics, the decision threshold and the predictions rows, the same for every runner: no torch needed.

A model scores every label of a document independently (sigmoid or one-vs-rest probabilities); a label is predicted
where its score reaches one global threshold, chosen on validation (`choose_threshold`: the grid value with the best
micro-F1, the lowest among equals) and applied unchanged to test.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))  # 0.05, 0.10, ..., 0.95
KEPT_SCORES = 100  # a predictions row keeps the scores of this many top labels, and of its true and predicted ones


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))


def choose_threshold(targets: np.ndarray, scores: np.ndarray) -> float:
    """The threshold of `THRESHOLDS` with the best micro-F1 of `scores >= threshold` against the 0/1 `targets`."""
    best, best_f1 = THRESHOLDS[0], -1.0
    for threshold in THRESHOLDS:
        f1 = f1_score(targets, scores >= threshold, average="micro", zero_division=0)
        if f1 > best_f1:
            best, best_f1 = threshold, f1
    return best


def validation_metrics(targets: np.ndarray, logits: np.ndarray) -> dict[str, Any]:
    """A validation pass's metrics (the Trainer's `compute_metrics`) at the threshold best for its scores, which is
    logged with them (`val_threshold`), so the epoch chosen brings its own threshold to test."""
    scores = sigmoid(logits)
    return multilabel_metrics(targets, scores, choose_threshold(targets, scores))


def multilabel_metrics(
    targets: np.ndarray, scores: np.ndarray, threshold: float, label_names: Sequence[str] | None = None
) -> dict[str, Any]:
    """Micro-, macro- and samples-F1, micro precision/recall, subset accuracy (the share of documents whose label
    set is predicted exactly) at `threshold`; with `label_names`, also per label: precision, recall, F1, support.

    Samples-F1 counts a document with no true and no predicted label as 1 (it was predicted exactly), the
    per-document F1 `document_f1` gives and the report's paired tests use.

    Macro-F1 is the mean F1 over the labels that occur in `targets` or in the predictions: a label that does
    neither (no test document has it, none is given it) has no F1 and is left out, not counted as 0 (sklearn's
    `zero_division=nan`; with `zero_division=0`, EURLEX57K's thousands of concepts absent from a test sample would
    each pull the mean down). A label that occurs and is never predicted scores 0: a zero-shot label is a miss."""
    targets = np.asarray(targets).astype(bool)
    preds = np.asarray(scores) >= threshold
    p, r, f, _ = precision_recall_fscore_support(targets, preds, average="micro", zero_division=0)
    out: dict[str, Any] = {
        "accuracy": float(accuracy_score(targets, preds)),
        "micro_f1": float(f),
        "macro_f1": _macro_f1(targets, preds),
        "samples_f1": float(document_f1(targets, preds).mean()),
        "micro_precision": float(p),
        "micro_recall": float(r),
        "threshold": float(threshold),
    }
    if label_names is not None:
        per_p, per_r, per_f, support = precision_recall_fscore_support(targets, preds, average=None, zero_division=0)
        out["per_label"] = {
            name: {
                "precision": float(per_p[j]),
                "recall": float(per_r[j]),
                "f1": float(per_f[j]),
                "support": int(support[j]),
            }
            for j, name in enumerate(label_names)
        }
    return out


def _macro_f1(targets: np.ndarray, preds: np.ndarray) -> float | None:
    """Macro-F1 over the labels with a true or predicted occurrence; None where no label has either."""
    if not (targets.any(axis=0) | preds.any(axis=0)).any():
        return None
    return float(f1_score(targets, preds, average="macro", zero_division=np.nan))


def document_f1(targets: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """Per-document F1 of 0/1 label matrices [n, K]: 2|T ∩ P| / (|T| + |P|), 1 where both sets are empty."""
    targets, preds = np.asarray(targets, bool), np.asarray(preds, bool)
    both = (targets & preds).sum(1)
    size = targets.sum(1) + preds.sum(1)
    return np.where(size == 0, 1.0, 2 * both / np.maximum(size, 1))


FEW_SHOT_MAX = 49  # a label in 1..49 training documents is few-shot, in 50 or more frequent (Chalkidis et al. 2019)


def label_groups(train_counts: Sequence[int]) -> dict[str, np.ndarray]:
    """Label ids by how often they occur in the (full) training split: frequent (50 or more documents), few-shot
    (1 to 49), zero-shot (none). At least 50 is the rule that reproduces Chalkidis et al.'s published EURLEX57K
    counts (746 frequent, 3,362 few-shot, 163 zero-shot; "more than 50" gives 739 / 3,369)."""
    counts = np.asarray(train_counts)
    return {
        "frequent": np.flatnonzero(counts > FEW_SHOT_MAX),
        "few_shot": np.flatnonzero((counts >= 1) & (counts <= FEW_SHOT_MAX)),
        "zero_shot": np.flatnonzero(counts == 0),
    }


def record_fields(
    targets: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    label_names: Sequence[str],
    train_counts: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The test metrics a multi-label run's record holds; `f1`, `precision`, `recall` are the micro ones. With
    `train_counts` (documents per label id in the full training split), also micro-F1 over each `label_groups`
    group's columns: None for a group with no label, or none in test and none predicted."""
    m = multilabel_metrics(targets, scores, threshold, label_names)
    if train_counts is not None:
        truth, preds = np.asarray(targets).astype(bool), np.asarray(scores) >= threshold
        for group, ids in label_groups(train_counts).items():
            # counted by hand: sklearn reads a one-column matrix as binary labels, not as one label's column
            t, p = truth[:, ids], preds[:, ids]
            tp, wrong = int((t & p).sum()), int((t ^ p).sum())
            m[f"micro_f1_{group}"] = 2 * tp / (2 * tp + wrong) if tp or wrong else None
    return {
        **m,
        "f1": m["micro_f1"],
        "precision": m["micro_precision"],
        "recall": m["micro_recall"],
        "f1_average": "micro",
        "positive_label": None,
    }


def prediction_rows(
    ids: Sequence[str],
    targets: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    label_names: Sequence[str],
    n_tokens: Sequence[int],
) -> list[dict[str, Any]]:
    """Predictions-file rows: `labels` and `preds` as JSON lists of label names, `scores` a JSON mapping, in label
    order, of the labels `kept_scores` keeps; the predicted set is the labels whose score reaches the threshold."""
    rows = []
    for i, t, s, n in zip(ids, np.asarray(targets).astype(bool), np.asarray(scores), n_tokens, strict=True):
        predicted = s >= threshold
        rows.append(
            {
                "id": i,
                "labels": json.dumps([label_names[j] for j in np.flatnonzero(t)]),
                "preds": json.dumps([label_names[j] for j in np.flatnonzero(predicted)]),
                "scores": json.dumps({label_names[j]: float(s[j]) for j in kept_scores(s, t | predicted)}),
                "n_tokens": int(n),
            }
        )
    return rows


def kept_scores(scores: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The label indices whose scores a predictions row keeps, ascending: every label where there are at most
    `KEPT_SCORES`, else the `KEPT_SCORES` highest-scored ones and every `wanted` (true or predicted) one. Every
    label's score for EURLEX's 4,271 concepts would be ~140 KB a document, ~0.9 GB for its test split."""
    if len(scores) <= KEPT_SCORES:
        return np.arange(len(scores))
    top = np.argpartition(-scores, KEPT_SCORES - 1)[:KEPT_SCORES]
    return np.union1d(top, np.flatnonzero(wanted))
