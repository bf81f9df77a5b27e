"""Test-set metrics, the same for every runner (transformer or scikit-learn): no torch needed."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, precision_recall_fscore_support


def classification_metrics(labels: np.ndarray, preds: np.ndarray, n_labels: int, positive: int = 1) -> dict[str, float]:
    """Accuracy, and F1/precision/recall: binary on label id `positive` for two classes, macro-averaged otherwise."""
    average = "binary" if n_labels == 2 else "macro"
    binary = {"pos_label": positive} if average == "binary" else {}
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, preds, average=average, labels=list(range(n_labels)), zero_division=0, **binary
    )
    return {
        "accuracy": float(accuracy_score(labels, preds)),
        "f1": float(f1),
        "precision": float(precision),
        "recall": float(recall),
    }
