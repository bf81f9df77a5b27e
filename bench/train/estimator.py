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
    started = time.perf_counter()
    np.random.seed(seed)
    task, splits, names = data.kind, data.splits, data.label_names
    n_labels = len(names)
    texts = {name: texts_of(splits[name]) for name in ("train", "validation", "test")}
    targets = {name: task.targets(splits[name]["label"], n_labels) for name in ("train", "validation", "test")}
    prepare_s = time.perf_counter() - started

    fit_started = time.perf_counter()
    features = runner.build_features()
    x_train = features.fit_transform(texts["train"])
    train_s = time.perf_counter() - fit_started
    x_val = features.transform(texts["validation"])

    epochs, fitted, settings, decisions = [], [], [], []
    for i, (hyper, built) in enumerate(runner.build_classifiers(seed, task.estimator_classes(n_labels)), 1):
        classifier = task.wrap_estimator(built)  # e.g. one-vs-rest: one binary classifier per label
        fit_started = time.perf_counter()
        with warnings.catch_warnings():
            # a label no training document has (zero-shot, or rare under --limit) gets a constant classifier that
            # never predicts it, as it should; sklearn warns once per such label, thousands of lines on EURLEX57K
            warnings.filterwarnings("ignore", message="Label not .* is present in all training examples")
            classifier.fit(x_train, targets["train"])
        train_s += time.perf_counter() - fit_started
        val_scores = classifier.predict_proba(x_val)
        decision = task.decide(targets["validation"], val_scores)  # e.g. a threshold, chosen with each setting
        scores = task.metrics(targets["validation"], val_scores, decision, n_labels, data.positive_id)
        train_loss = task.loss(targets["train"], classifier.predict_proba(x_train), n_labels)
        epochs.append(
            {
                "epoch": i,
                **hyper,
                "train_loss": train_loss,
                "val_loss": task.loss(targets["validation"], val_scores, n_labels),
            }
            | {f"val_{k}": v for k, v in scores.items()}
        )
        fitted.append(classifier)
        settings.append(hyper)
        decisions.append(decision)
    # the first of the best, as the Trainer keeps the first checkpoint among equals
    metric = protocol.metric_for_best_model
    key = [(-e["val_loss"] if metric == "loss" else e[f"val_{metric}"]) for e in epochs]
    best = int(np.argmax(key))
    classifier, decision = fitted[best], decisions[best]

    # the single touch of the test split, with the setting (and its decision) chosen on validation
    eval_started = time.perf_counter()
    probs = classifier.predict_proba(features.transform(texts["test"]))
    eval_s = time.perf_counter() - eval_started
    estimators = getattr(classifier, "estimators_", [classifier])
    n_params = sum(np.size(getattr(e, "coef_", ())) + np.size(getattr(e, "intercept_", ())) for e in estimators)
    metrics = {
        **task.record_fields(targets["test"], probs, decision, data),
        **_fit_fields(data, texts, epochs, settings[best], best, (prepare_s, train_s, eval_s), x_train.shape[1]),
        "n_params": int(n_params),
    }
    n_tokens = runner.count_tokens(features, texts["test"])
    return metrics, task.prediction_rows(splits["test"]["id"], targets["test"], probs, decision, names, n_tokens)


def _fit_fields(
    data: SuiteData,
    texts: dict[str, list[str]],
    epochs: list[dict],
    chosen: dict,
    best: int,
    seconds: tuple,
    n_features: int,
) -> dict[str, Any]:
    """The record fields every estimator run has, whatever its task: what was chosen, the times and the sizes.
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
