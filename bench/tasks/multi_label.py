"""Multi-label classification: a set of labels per document, a sigmoid per label and binary cross-entropy, one
threshold chosen on validation, judged on micro-F1 (paired bootstrap CI; paired sign-flip test on per-document F1).

The labels' validation and encoding are in `multi_label_labels`, the metrics and prediction rows in
`multi_label_metrics` (imported lazily: they need datasets and scikit-learn, the report does not)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from bench.tasks.base import Task, register

# record fields of a multi-label run; f1, precision and recall are the micro ones, accuracy is subset accuracy
METRICS = ("micro_f1", "macro_f1", "samples_f1", "micro_precision", "micro_recall", "accuracy")
_ALIASES = {"f1": "micro_f1", "precision": "micro_precision", "recall": "micro_recall"}
TP, FP, FN, DOC_F1, EXACT = range(5)  # the document statistics' columns


@register
class MultiLabel(Task):
    name = "multilabel"
    title = "multi-label"
    main_metric = "micro_f1"
    reported_metrics = METRICS
    selection_metrics = ("micro_f1", "macro_f1", "samples_f1", "loss")
    labels: ClassVar[dict[str, str]] = {
        "micro_f1": "micro-F1",
        "macro_f1": "macro-F1",
        "samples_f1": "samples-F1",
        "accuracy": "subset accuracy",
        "micro_precision": "micro precision",
        "micro_recall": "micro recall",
        "f1": "micro-F1",
    }
    problem_type = "multi_label_classification"
    p_method = "paired sign-flip on per-document F1"
    sections = ("label_sets",)
    mean_metric = "samples_f1"
    hub_task_name = "Multi-label text classification"
    hub_metrics = (
        ("micro_f1", "f1", "Micro F1"),
        ("macro_f1", "f1", "Macro F1"),
        ("samples_f1", "f1", "Samples F1"),
        ("accuracy", "accuracy", "Subset accuracy"),
    )

    def check_data(self, data: Any) -> None:
        from bench.errors import BenchError

        if data.labels_file is not None and data.labels is not None:
            raise BenchError("suite data: labels_file is instead of data.labels (not with it); keep one")

        for name in ("label_names", "positive_label"):
            if getattr(data, name) is not None:
                raise BenchError(
                    f"suite data: {name} is for single-label suites; a multilabel suite names its labels in data.labels"
                )

    def encode(self, suite: Any, parts: dict[str, Any], labels: tuple[str, ...] | None = None) -> tuple:
        from bench.tasks.multi_label_labels import encode_multilabel  # checks the lists; ids sorted per document

        encoded, names, note = encode_multilabel(suite, parts, labels)
        return encoded, names, (note,) if note else ()

    def train_label_counts(self, train: Any, names: tuple[str, ...]) -> tuple[int, ...]:
        ids = [i for row in train.with_format("arrow")["label"].to_pylist() for i in row]
        return tuple(int(c) for c in np.bincount(np.asarray(ids, dtype=np.int64), minlength=len(names)))

    def split(self, suite: Any, train: Any, test: Any) -> Any:
        from bench.tasks.multi_label_labels import multilabel_splits

        return multilabel_splits(suite, train, test)

    # ---- training

    def n_float_labels(self, n_labels: int) -> int | None:
        return n_labels

    def targets(self, labels: Sequence, n_labels: int) -> np.ndarray:
        from bench.tasks.multi_label_labels import multi_hot

        return multi_hot(labels, n_labels)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        from bench.tasks.multi_label_metrics import sigmoid

        return sigmoid(logits)

    def decide(self, targets: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        from bench.tasks.multi_label_metrics import choose_threshold

        return {"threshold": choose_threshold(targets, scores)}

    def decision_of(self, epoch: dict[str, Any]) -> dict[str, Any]:
        return {"threshold": epoch["val_threshold"]}

    def metrics(self, targets, scores, decision, n_labels, positive_id) -> dict[str, Any]:
        from bench.tasks.multi_label_metrics import multilabel_metrics

        return multilabel_metrics(targets, scores, decision["threshold"])

    def record_fields(self, targets, scores, decision, data) -> dict[str, Any]:
        from bench.tasks.multi_label_metrics import record_fields

        return record_fields(targets, scores, decision["threshold"], data.label_names, data.train_label_counts)

    def prediction_rows(self, ids, targets, scores, decision, label_names, n_tokens) -> list[dict[str, Any]]:
        from bench.tasks.multi_label_metrics import prediction_rows

        return prediction_rows(ids, targets, scores, decision["threshold"], label_names, n_tokens)

    def estimator_classes(self, n_labels: int) -> int:
        return 2  # each label a two-class problem

    def wrap_estimator(self, classifier: Any) -> Any:
        from sklearn.multiclass import OneVsRestClassifier

        return OneVsRestClassifier(classifier)

    def loss(self, targets, scores, n_labels) -> float:
        """Mean binary cross-entropy over documents and labels (the loss a sigmoid head is trained on)."""
        p = np.clip(scores, 1e-7, 1 - 1e-7)
        return float(-(targets * np.log(p) + (1 - targets) * np.log(1 - p)).mean())

    # ---- the report

    def read_predictions(self, frame: Any) -> Any:
        """`labels`/`preds` (JSON lists of label names) kept; `label`/`pred` the sets as canonical text (sorted JSON
        lists), so that what equality reads is an exact match (subset accuracy)."""
        missing = [c for c in ("id", "labels", "preds") if c not in frame.columns]
        if missing:
            raise ValueError(f"missing column(s) {', '.join(missing)}")
        frame = frame.drop(columns=["scores"], errors="ignore")  # every label's score: large, and not read here
        for column, canonical in (("labels", "label"), ("preds", "pred")):
            sets = frame[column].map(json.loads)
            if not all(isinstance(v, list) for v in sets):
                raise ValueError(f"column {column} must hold JSON lists of label names")
            frame[canonical] = sets.map(lambda v: json.dumps(sorted(map(str, v))))
        return frame

    def document_stats(self, rows: Any) -> np.ndarray:
        """Per document: true positives, false positives, false negatives, its F1 (1 where both sets are empty) and
        whether the set is predicted exactly."""
        out = []
        for t, p in zip(rows["labels"], rows["preds"], strict=True):
            true, pred = set(json.loads(t)), set(json.loads(p))
            tp, fp, fn = len(true & pred), len(pred - true), len(true - pred)
            size = 2 * tp + fp + fn
            out.append((tp, fp, fn, 1.0 if size == 0 else 2 * tp / size, float(fp + fn == 0)))
        return np.asarray(out, dtype=float).reshape(-1, 5)

    def value(self, metric: str, sums: np.ndarray, n: int) -> np.ndarray:
        sums = np.asarray(sums, dtype=float)
        tp, fp, fn = sums[..., TP], sums[..., FP], sums[..., FN]
        with np.errstate(divide="ignore", invalid="ignore"):
            values = {
                "micro_f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0),
                "micro_precision": np.where(tp + fp > 0, tp / (tp + fp), 0.0),
                "micro_recall": np.where(tp + fn > 0, tp / (tp + fn), 0.0),
                "samples_f1": sums[..., DOC_F1] / n,
                "accuracy": sums[..., EXACT] / n,
            }
        return values.get(_ALIASES.get(metric, metric), np.full(sums.shape[:-1], np.nan))  # macro-F1: per label

    def document_score(self, doc_stats: np.ndarray) -> np.ndarray:
        return np.asarray(doc_stats)[..., DOC_F1]
