"""Single-label classification: one class per document, softmax head and cross-entropy, argmax decision, judged on
accuracy (McNemar / paired sign-flip on per-document correctness, bootstrap CIs over documents)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

import bench.stats as stats
from bench.tasks.base import Task, register

# F1, precision and recall: binary on the positive class for two classes, macro-averaged otherwise
CLASS_METRICS = ("accuracy", "f1", "precision", "recall")


@register
class SingleLabel(Task):
    name = "single_label"
    title = "single-label"
    main_metric = "accuracy"
    reported_metrics = CLASS_METRICS
    selection_metrics = (*CLASS_METRICS, "loss")
    labels: ClassVar[dict[str, str]] = {
        "accuracy": "accuracy",
        "f1": "F1",
        "precision": "precision",
        "recall": "recall",
    }
    problem_type = "single_label_classification"
    sections = ("per_class",)
    mean_metric = "accuracy"
    hub_metrics = (
        ("accuracy", "accuracy", "Accuracy"),
        ("f1", "f1", "F1"),
        ("precision", "precision", "Precision"),
        ("recall", "recall", "Recall"),
    )

    def check_data(self, data: Any) -> None:
        from bench.errors import BenchError

        if data.labels_file is not None:
            raise BenchError(
                "suite data: labels_file is for task: multilabel; a single-label suite names its classes "
                "in data.label_names"
            )
        if data.labels is not None or data.allow_empty_labels:
            raise BenchError(
                "suite data: labels and allow_empty_labels are for task: multilabel; a single-label suite names its "
                "classes in data.label_names"
            )

    def encode(self, suite: Any, parts: dict[str, Any], labels: tuple[str, ...] | None = None) -> tuple:
        from bench.tasks.single_label_labels import encode_splits

        encoded, names = encode_splits(suite, parts)
        return encoded, names, ()

    def check_train(self, suite: Any, train: Any, names: tuple[str, ...]) -> None:
        from bench.tasks.single_label_labels import check_classes

        check_classes(suite, train, names)

    def split(self, suite: Any, train: Any, test: Any) -> Any:
        from bench.tasks.single_label_labels import stratified_splits

        return stratified_splits(suite, train, test, tuple(train.features["label"].names))

    def positive_label(self, suite: Any, names: tuple[str, ...]) -> str | None:
        from bench.tasks.single_label_labels import _positive_label

        return _positive_label(suite, names)

    # ---- training

    def targets(self, labels: Sequence, n_labels: int) -> np.ndarray:
        return np.asarray(labels)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        z = np.asarray(logits, dtype=np.float64)
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        return z / z.sum(axis=-1, keepdims=True)

    def metrics(self, targets, scores, decision, n_labels, positive_id) -> dict[str, Any]:
        from bench.tasks.single_label_metrics import classification_metrics

        return classification_metrics(
            targets, np.asarray(scores).argmax(-1), n_labels, 1 if positive_id is None else positive_id
        )

    def record_fields(self, targets, scores, decision, data) -> dict[str, Any]:
        n = len(data.label_names)
        return {
            **self.metrics(targets, scores, decision, n, data.positive_id),
            "f1_average": "binary" if n == 2 else "macro",
            "positive_label": data.positive_label,
        }

    def prediction_rows(self, ids, targets, scores, decision, label_names, n_tokens) -> list[dict[str, Any]]:
        preds = np.asarray(scores).argmax(-1)
        return [
            {"id": i, "label": int(y), "pred": int(p), "score": float(s[p]), "n_tokens": int(n)}
            for i, y, p, s, n in zip(ids, targets, preds, scores, n_tokens, strict=True)
        ]

    def loss(self, targets, scores, n_labels) -> float:
        from sklearn.metrics import log_loss

        return float(log_loss(targets, scores, labels=range(n_labels)))

    # ---- the report

    def read_predictions(self, frame: Any) -> Any:
        missing = [c for c in ("id", "label", "pred") if c not in frame.columns]
        if missing:
            raise ValueError(f"missing column(s) {', '.join(missing)}")
        return frame

    def document_stats(self, rows: Any) -> np.ndarray:
        return (rows["label"].to_numpy() == rows["pred"].to_numpy()).astype(float)[:, None]

    def value(self, metric: str, sums: np.ndarray, n: int) -> np.ndarray:
        if metric != "accuracy":  # F1 and the rest need the classes: `intervals` has them
            return np.full(np.shape(sums)[:-1], np.nan)
        return np.asarray(sums)[..., 0] / n

    def document_score(self, doc_stats: np.ndarray) -> np.ndarray:
        return np.asarray(doc_stats)[..., 0]

    def paired_test(self, a: np.ndarray, b: np.ndarray) -> tuple[float, str]:
        """The exact McNemar test for one seed each; a sign-flip test of seed-averaged correctness otherwise."""
        s_a, s_b = len(a), len(b)
        diff = self.document_score(a).mean(axis=0) - self.document_score(b).mean(axis=0)
        units = np.rint(diff * s_a * s_b).astype(np.int64)
        return stats.paired_sign_flip_test(units), "exact McNemar" if s_a == s_b == 1 else "paired sign-flip"

    def intervals(self, aligned: Any, runner: str, n_classes: int, positive_id: int | None) -> dict[str, tuple]:
        return stats.bootstrap_classification(aligned.labels, aligned.preds[runner], n_classes, positive_id)
