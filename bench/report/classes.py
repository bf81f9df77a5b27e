"""Per-class precision, recall, F1 and confusion matrices of single-label runs, from their stored predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd

PER_CLASS_COLUMNS = ("runner", "class", "precision", "recall", "f1", "support", "predicted", "seeds")


def class_names(label_names: list[str], predictions: pd.DataFrame) -> list[str]:
    """One name per label id: the record's label names, extended by the ids the predictions use beyond them."""
    ids = pd.concat([predictions["label"], predictions["pred"]]) if len(predictions) else pd.Series([], dtype=int)
    n = max(len(label_names), int(ids.max()) + 1 if len(ids) else 0)
    return [label_names[i] if i < len(label_names) else str(i) for i in range(n)]


def confusion(labels: np.ndarray, preds: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of (true label, predicted label), shape (n_classes, n_classes): rows true, columns predicted."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, dtype=np.int64), np.asarray(preds, dtype=np.int64)), 1)
    return matrix


def scores(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall and F1 (0 where undefined, as scikit-learn's `zero_division=0`), support (true
    examples of the class) and predicted (examples predicted as it), from a confusion matrix."""
    tp = np.diag(matrix).astype(float)
    support, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
        denominator = support + predicted
        f1 = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support, "predicted": predicted}


def confusion_matrices(predictions: pd.DataFrame, n_classes: int, order: list[str]) -> dict[str, np.ndarray]:
    """Each runner's confusion matrix, its seeds' test predictions pooled (counts summed over seeds)."""
    out = {}
    for runner in order:
        rows = predictions[predictions["runner"] == runner]
        if len(rows):
            out[runner] = confusion(rows["label"].to_numpy(), rows["pred"].to_numpy(), n_classes)
    return out


def per_class_table(predictions: pd.DataFrame, names: list[str], order: list[str]) -> pd.DataFrame:
    """One row per (runner, class): precision, recall and F1 of the runner's pooled seeds, support and predicted
    counted over them, and how many seeds were pooled."""
    rows = []
    for runner, matrix in confusion_matrices(predictions, len(names), order).items():
        seeds = int(predictions.loc[predictions["runner"] == runner, "seed"].nunique())
        figures = scores(matrix)
        for k, name in enumerate(names):
            rows.append({"runner": runner, "class": name, **{m: v[k] for m, v in figures.items()}, "seeds": seeds})
    return pd.DataFrame(rows, columns=list(PER_CLASS_COLUMNS))


def confusion_frame(matrices: dict[str, np.ndarray], names: list[str]) -> pd.DataFrame:
    """The confusion matrices in long form (runner, true, predicted, count), for the CSV tables."""
    rows = [
        {"runner": runner, "true": names[i], "predicted": names[j], "count": int(matrix[i, j])}
        for runner, matrix in matrices.items()
        for i in range(len(names))
        for j in range(len(names))
    ]
    return pd.DataFrame(rows, columns=["runner", "true", "predicted", "count"])
