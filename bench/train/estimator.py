"""The protocol for scikit-learn runners (`EstimatorRunner`), mirroring `bench.train.trainer` step for step.

Features are fitted on `train` only; one classifier per hyper-parameter setting is fitted on train and scored on
`validation` (the settings play the role of epochs); the best setting is chosen on validation alone, and `test` is
predicted exactly once, with it. Metrics, record fields and predictions are those of `train_and_evaluate` in
`bench.train.trainer`; what a CPU model cannot have (GPU memory, tokens per second of a token sequence) is None.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from bench.config import ProtocolConfig
from bench.data import SuiteData, texts_of
from bench.runners.base import EstimatorRunner


def train_and_evaluate(
    runner: EstimatorRunner, data: SuiteData, protocol: ProtocolConfig, seed: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Fit `runner` under the protocol; return the run's metrics and its per-example test predictions.

    Nothing is checkpointed: an interrupted fit of a minute or two is simply run again.

    `train_samples_per_s` counts each training document once per classifier fitted (as epochs count it for the
    transformer runners) over the training time: fitting the features plus fitting every classifier, validation
    scoring excluded. `eval_samples_per_s` covers featurizing and predicting the test split.
    """
    from sklearn.metrics import log_loss

    from bench.train.metrics import classification_metrics

    if data.multilabel:
        return _train_multilabel(runner, data, protocol, seed)
    started = time.perf_counter()
    np.random.seed(seed)
    splits = data.splits
    texts = {name: texts_of(splits[name]) for name in ("train", "validation", "test")}
    labels = {name: np.asarray(splits[name]["label"]) for name in ("train", "validation", "test")}
    n_labels = len(data.label_names)
    prepare_s = time.perf_counter() - started

    fit_started = time.perf_counter()
    features = runner.build_features()
    x_train = features.fit_transform(texts["train"])
    train_s = time.perf_counter() - fit_started
    x_val = features.transform(texts["validation"])

    loss_is_metric = protocol.metric_for_best_model == "loss"
    epochs, fitted, settings = [], [], []
    for i, (hyper, classifier) in enumerate(runner.build_classifiers(seed, n_labels), 1):
        fit_started = time.perf_counter()
        classifier.fit(x_train, labels["train"])
        train_s += time.perf_counter() - fit_started
        val_probs = classifier.predict_proba(x_val)
        scores = classification_metrics(labels["validation"], val_probs.argmax(-1), n_labels, data.positive_id)
        train_loss = log_loss(labels["train"], classifier.predict_proba(x_train), labels=range(n_labels))
        val_loss = log_loss(labels["validation"], val_probs, labels=range(n_labels))
        epochs.append(
            {"epoch": i, **hyper, "train_loss": train_loss, "val_loss": val_loss}
            | {f"val_{k}": v for k, v in scores.items()}
        )
        fitted.append(classifier)
        settings.append(hyper)
    # the first of the best, as the Trainer keeps the first checkpoint among equals
    key = [(-e["val_loss"] if loss_is_metric else e[f"val_{protocol.metric_for_best_model}"]) for e in epochs]
    best = int(np.argmax(key))
    classifier = fitted[best]

    # the single touch of the test split, with the setting chosen on validation
    eval_started = time.perf_counter()
    probs = classifier.predict_proba(features.transform(texts["test"]))
    eval_s = time.perf_counter() - eval_started
    preds = probs.argmax(-1)

    metrics = {
        **classification_metrics(labels["test"], preds, n_labels, data.positive_id),
        "positive_label": data.positive_label,
        "f1_average": "binary" if n_labels == 2 else "macro",
        **_fit_fields(data, texts, epochs, settings[best], best, (prepare_s, train_s, eval_s), x_train.shape[1]),
        "n_params": int(np.size(classifier.coef_) + np.size(classifier.intercept_)),
    }
    n_tokens = runner.count_tokens(features, texts["test"])
    predictions = [
        {"id": i, "label": int(y), "pred": int(p), "score": float(s[p]), "n_tokens": int(n)}
        for i, y, p, s, n in zip(splits["test"]["id"], labels["test"], preds, probs, n_tokens, strict=True)
    ]
    return metrics, predictions


def _train_multilabel(
    runner: EstimatorRunner, data: SuiteData, protocol: ProtocolConfig, seed: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`train_and_evaluate` for a multi-label suite: each setting's classifier is one-vs-rest (one binary classifier
    per label, the runner's two-class one), the threshold is chosen on validation with each setting, and the setting
    with the best validation metric brings its threshold to test."""
    from sklearn.multiclass import OneVsRestClassifier

    from bench.data.multilabel import multi_hot
    from bench.train.multilabel import choose_threshold, multilabel_metrics, prediction_rows, record_fields

    started = time.perf_counter()
    np.random.seed(seed)
    splits, names = data.splits, data.label_names
    texts = {name: texts_of(splits[name]) for name in ("train", "validation", "test")}
    targets = {name: multi_hot(splits[name]["label"], len(names)) for name in ("train", "validation", "test")}
    prepare_s = time.perf_counter() - started

    fit_started = time.perf_counter()
    features = runner.build_features()
    x_train = features.fit_transform(texts["train"])
    train_s = time.perf_counter() - fit_started
    x_val = features.transform(texts["validation"])

    epochs, fitted, settings, thresholds = [], [], [], []
    for i, (hyper, binary) in enumerate(runner.build_classifiers(seed, 2), 1):  # each label a two-class problem
        classifier = OneVsRestClassifier(binary)
        fit_started = time.perf_counter()
        with warnings.catch_warnings():
            # a label no training document has (zero-shot, or rare under --limit) gets a constant classifier that
            # never predicts it, as it should; sklearn warns once per such label, thousands of lines on EURLEX57K
            warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")
            classifier.fit(x_train, targets["train"])
        train_s += time.perf_counter() - fit_started
        val_scores = classifier.predict_proba(x_val)
        threshold = choose_threshold(targets["validation"], val_scores)
        scores = multilabel_metrics(targets["validation"], val_scores, threshold)
        epochs.append(
            {"epoch": i, **hyper, "train_loss": _bce(targets["train"], classifier.predict_proba(x_train)),
             "val_loss": _bce(targets["validation"], val_scores)} | {f"val_{k}": v for k, v in scores.items()}
        )  # fmt: skip
        fitted.append(classifier)
        settings.append(hyper)
        thresholds.append(threshold)
    metric = protocol.metric_for_best_model
    key = [(-e["val_loss"] if metric == "loss" else e[f"val_{metric}"]) for e in epochs]
    best = int(np.argmax(key))  # the first of the best
    classifier, threshold = fitted[best], thresholds[best]

    eval_started = time.perf_counter()
    probs = classifier.predict_proba(features.transform(texts["test"]))
    eval_s = time.perf_counter() - eval_started
    n_params = sum(
        np.size(getattr(e, "coef_", ())) + np.size(getattr(e, "intercept_", ())) for e in classifier.estimators_
    )
    metrics = {
        **record_fields(targets["test"], probs, threshold, names, data.train_label_counts),
        **_fit_fields(data, texts, epochs, settings[best], best, (prepare_s, train_s, eval_s), x_train.shape[1]),
        "n_params": int(n_params),
    }
    n_tokens = runner.count_tokens(features, texts["test"])
    return metrics, prediction_rows(splits["test"]["id"], targets["test"], probs, threshold, names, n_tokens)


def _fit_fields(
    data: SuiteData,
    texts: dict[str, list[str]],
    epochs: list[dict],
    chosen: dict,
    best: int,
    seconds: tuple,
    n_features: int,
) -> dict[str, Any]:
    """The record fields every estimator run has, single- or multi-label: what was chosen, the times and the sizes.
    Fields a bag of n-grams on a CPU cannot have (token rates, GPU memory, micro-batches) are left to the record's
    defaults: None, never 0."""
    from bench.host import peak_cpu_rss_mb

    prepare_s, train_s, eval_s = seconds
    return {
        "best_epoch": best + 1,
        "n_epochs": len(epochs),
        "epochs": epochs,
        "selected_params": chosen,
        "train_samples_per_s": len(texts["train"]) * len(epochs) / train_s,
        "eval_samples_per_s": len(texts["test"]) / eval_s,
        "train_s": train_s,
        "prepare_s": prepare_s,
        "peak_cpu_rss_mb": peak_cpu_rss_mb(),
        "n_features": int(n_features),
        "n_train": len(texts["train"]),
        "n_train_split": data.n_train_split,  # the full train split, for budgets of a --limit run
        "n_val": len(texts["validation"]),
        "n_test": len(texts["test"]),
        "mixed_precision": "no",
    }


def _bce(targets: np.ndarray, probs: np.ndarray) -> float:
    """Mean binary cross-entropy over documents and labels (the loss a sigmoid head is trained on)."""
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    return float(-(targets * np.log(p) + (1 - targets) * np.log(1 - p)).mean())
