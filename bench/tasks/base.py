"""The `Task` contract: everything that depends on the kind of task a suite is (one class per document, a set of
labels per document, ...), in one class per kind, so that data loading, training, the report, the verdict and the
leaderboard ask the task and none of them branches on its kind (the way MTEB has one abstract task per task type).

A task is stateless; `task_for(suite.data.task)` returns the registered one. Its parts, in the order a run uses them:

- data: `check_data` (the suite's data settings), `encode` (validate and encode the label column), `split`
  (carve validation from train), `positive_label`;
- training: `problem_type` (the transformers head), `n_float_labels` (the collator's 0/1 rows), `targets`,
  `probabilities`, `decide` (the decision rule fitted on validation: argmax needs nothing, a threshold is chosen),
  `metrics` (validation and test), `selection_metrics` (what may pick the epoch), `record_fields`,
  `prediction_rows`, and for scikit-learn runners `estimator_classes`, `wrap_estimator` and `loss`;
- report: `read_predictions` (the predictions file into `label`/`pred` codes and per-document statistics),
  `document_stats`, `value` (a metric from summed document statistics, so any metric has a paired bootstrap),
  `document_score` (the per-document value the paired test and the length breakdown use), `paired_test`,
  `main_metric` and `reported_metrics` (the summary's mean, std and CI columns), `label` (a metric's name as shown).

Training-side parts may import torch, datasets or scikit-learn lazily; the report-side ones use numpy and
`bench.stats` only, so a report still renders without them.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

import bench.stats as stats
from bench.errors import BenchError


class Task(ABC):
    """One kind of task. Subclass it, set the class attributes, implement the abstract methods and `register` it."""

    name: ClassVar[str]  # the suite's data.task value
    title: ClassVar[str]  # as written in prose: "single-label"
    main_metric: ClassVar[str]  # the metric the answer is judged on: verdict, leaderboard, console
    reported_metrics: ClassVar[tuple[str, ...]]  # record fields the summary gives mean, std and CI of
    selection_metrics: ClassVar[tuple[str, ...]]  # what protocol.metric_for_best_model may be; the first the default
    labels: ClassVar[dict[str, str]] = {}  # metric -> its name in tables and sentences
    problem_type: ClassVar[str | None] = None  # the transformers config's problem_type (None: inferred)
    p_method: ClassVar[str] = "paired sign-flip"  # the paired test, as the report names it
    mean_metric: ClassVar[str | None] = None  # the metric that is the mean of `document_score` (two-level CIs)
    # the report's task-specific sections this task's results have: "per_class" (per-class tables, calibration:
    # one class per document), "label_sets" (per-label F1 and per-document F1 of predicted label sets)
    sections: ClassVar[tuple[str, ...]] = ()
    # `bench publish`'s model-index: the task's name there, and (record field, the Hub's metric id, pretty name)
    hub_task_name: ClassVar[str] = "Text classification"
    hub_metrics: ClassVar[tuple[tuple[str, str, str], ...]] = ()

    def label(self, metric: str) -> str:
        return self.labels.get(metric, metric.replace("_", " "))

    def main_value(self, record: Any) -> float | None:
        """A run record's main metric (a field of its own, or one of its `task_metrics`); None where it has none."""
        value = getattr(record, self.main_metric, None)
        return value if value is not None else (getattr(record, "task_metrics", None) or {}).get(self.main_metric)

    def describe(self, record: Any) -> str:
        """A record's main metric as the console shows it: "micro-F1 0.8125" (empty where it has none)."""
        value = self.main_value(record)
        return f"{self.label(self.main_metric)} {value:.4f}" if value is not None else ""

    # ---- the suite's data ---------------------------------------------------------------------------------------

    def check_data(self, data: Any) -> None:  # noqa: B027  (optional: most tasks accept every setting)
        """Refuse data settings (`DataConfig`) this task cannot use; one clear `BenchError` line."""

    @abstractmethod
    def encode(
        self, suite: Any, parts: dict[str, Any], labels: tuple[str, ...] | None = None
    ) -> tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]:
        """Validate every split's label column ({"train", "test"} and "validation" where the data has one) and encode
        it; `labels`: the label space a suite names (`data.labels` or its labels file), if any. Returns the encoded
        splits, the label names in id order, and notes for the user (not errors: labels only in test, say)."""

    def train_label_counts(self, train: Any, names: tuple[str, ...]) -> tuple[int, ...] | None:
        """Documents per label id in the (full) train split, where the task's metrics group labels by it."""
        return None

    def check_train(self, suite: Any, train: Any, names: tuple[str, ...]) -> None:  # noqa: B027  (optional)
        """Refuse a train split the task cannot learn from, where validation is the data's own (not carved)."""

    @abstractmethod
    def split(self, suite: Any, train: Any, test: Any) -> Any:
        """The `DatasetDict` train/validation/test, validation carved from train by `validation_fraction`."""

    def positive_label(self, suite: Any, names: tuple[str, ...]) -> str | None:
        return None

    # ---- training -----------------------------------------------------------------------------------------------

    def n_float_labels(self, n_labels: int) -> int | None:
        """How many 0/1 float columns a batch's labels become (None: the label column is used as it is)."""
        return None

    @abstractmethod
    def targets(self, labels: Sequence, n_labels: int) -> np.ndarray:
        """The encoded label column as the array metrics compare predictions with."""

    @abstractmethod
    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """A model's outputs as the scores `decide` and `metrics` read (softmax, sigmoid, ...)."""

    def decide(self, targets: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
        """The decision rule's settings, fitted on validation (e.g. a threshold); {} where there are none."""
        return {}

    def decision_of(self, epoch: dict[str, Any]) -> dict[str, Any]:
        """The decision settings logged with a validation pass (`val_<name>` of the chosen epoch)."""
        return {}

    @abstractmethod
    def metrics(
        self, targets: np.ndarray, scores: np.ndarray, decision: dict[str, Any], n_labels: int, positive_id: int | None
    ) -> dict[str, Any]:
        """Metrics of `scores` under `decision` (validation's, logged as val_<name>; test's, in the record)."""

    def validation_metrics(
        self, targets: np.ndarray, logits: np.ndarray, n_labels: int, positive_id: int | None
    ) -> dict[str, Any]:
        """A validation pass's metrics, with the decision fitted on that pass (the Trainer's compute_metrics)."""
        scores = self.probabilities(logits)
        return self.metrics(targets, scores, self.decide(targets, scores), n_labels, positive_id)

    @abstractmethod
    def record_fields(
        self,
        targets: np.ndarray,
        scores: np.ndarray,
        decision: dict[str, Any],
        data: Any,
    ) -> dict[str, Any]:
        """The test metrics a run's record holds (accuracy, f1, precision, recall and the task's own), for the
        suite's `SuiteData` (its label names, positive class, and whatever else of it the task needs)."""

    @abstractmethod
    def prediction_rows(
        self,
        ids: Sequence[str],
        targets: np.ndarray,
        scores: np.ndarray,
        decision: dict[str, Any],
        label_names: Sequence[str],
        n_tokens: Sequence[int],
    ) -> list[dict[str, Any]]:
        """The predictions file's rows, one per test document."""

    def estimator_classes(self, n_labels: int) -> int:
        """How many classes a scikit-learn runner's classifier is built for."""
        return n_labels

    def wrap_estimator(self, classifier: Any) -> Any:
        """The classifier a scikit-learn runner fits (one-vs-rest, where the task needs one per label)."""
        return classifier

    @abstractmethod
    def loss(self, targets: np.ndarray, scores: np.ndarray, n_labels: int) -> float:
        """The training objective's value (a scikit-learn run's train_loss and val_loss)."""

    # ---- the report ---------------------------------------------------------------------------------------------

    @abstractmethod
    def read_predictions(self, frame: Any) -> Any:
        """A predictions file (a pandas frame) with `label` and `pred` as comparable values (a class id, a label set
        as canonical text) and whatever `document_stats` reads; ValueError where columns are missing."""

    @abstractmethod
    def document_stats(self, rows: Any) -> np.ndarray:
        """Per document, the additive statistics every reported metric is computed from, shape (n, k)."""

    @abstractmethod
    def value(self, metric: str, sums: np.ndarray, n: int) -> np.ndarray:
        """`metric` from document statistics summed over `n` documents, shape (..., k) -> (...); NaN where the
        task cannot compute it from them."""

    @abstractmethod
    def document_score(self, doc_stats: np.ndarray) -> np.ndarray:
        """The per-document value the paired test and the length breakdown use, (..., n, k) -> (..., n)."""

    def paired_test(self, a: np.ndarray, b: np.ndarray) -> tuple[float, str]:
        """Two-sided p-value that runner A (document statistics (S_a, n, k)) and B differ, and the test's name:
        a paired sign-flip test of the seed-averaged `document_score` differences."""
        diff = self.document_score(a).mean(axis=0) - self.document_score(b).mean(axis=0)
        return stats.paired_permutation_test(diff), self.p_method

    # ---- generic, from the parts above --------------------------------------------------------------------------

    def seed_values(self, metric: str, doc_stats: np.ndarray) -> np.ndarray:
        """`metric` per seed of document statistics (S, n, k)."""
        return self.value(metric, doc_stats.sum(axis=1), doc_stats.shape[1])

    def bootstrap(self, metric: str, doc_stats: Sequence[np.ndarray]) -> np.ndarray:
        """Seed-averaged `metric` of each runner's document statistics over the same bootstrap resamples of the
        documents (paired across runners, and across calls on the same documents), shape (n_boot, runners)."""
        n = doc_stats[0].shape[1]
        x = np.concatenate([d.transpose(1, 0, 2).reshape(n, -1) for d in doc_stats], axis=1).astype(float)
        sums, out, start = stats.bootstrap_sums(x), [], 0
        for d in doc_stats:
            width = d.shape[0] * d.shape[2]
            per_seed = sums[:, start : start + width].reshape(len(sums), d.shape[0], d.shape[2])
            out.append(self.value(metric, per_seed, n).mean(axis=1))
            start += width
        return np.stack(out, axis=1)

    def interval(self, metric: str, doc_stats: np.ndarray) -> tuple[float, float]:
        """95% bootstrap CI over documents of the seed-averaged `metric`."""
        return stats.percentile_ci(self.bootstrap(metric, [doc_stats])[:, 0])

    def intervals(self, aligned: Any, runner: str, n_classes: int, positive_id: int | None) -> dict[str, tuple]:
        """The summary's CIs of a runner's `reported_metrics` (those the document statistics determine)."""
        docs = aligned.docs[runner]
        out = {}
        for metric in self.reported_metrics:
            if not np.isnan(self.seed_values(metric, docs)).all():
                out[metric] = self.interval(metric, docs)
        return out

    def compare(self, metric: str, a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
        """Runner A against B on the same documents: Δ `metric` (seed-averaged) with its paired bootstrap CI, the
        paired test's p-value, the two-level (seeds, then documents) CI where `metric` is a mean of
        `document_score` and both have `stats.MIN_SEEDS_TWO_LEVEL` seeds, and the documents A does better/worse on."""
        boot = self.bootstrap(metric, [a, b])
        lo, hi = stats.percentile_ci(boot[:, 0] - boot[:, 1])
        delta = float(self.seed_values(metric, a).mean() - self.seed_values(metric, b).mean())
        p, method = self.paired_test(a, b)
        seed_lo = seed_hi = math.nan
        if metric == self.mean_metric and min(len(a), len(b)) >= stats.MIN_SEEDS_TWO_LEVEL:
            delta_boot = stats.two_level_bootstrap_delta(self.document_score(a), self.document_score(b))
            seed_lo, seed_hi = stats.percentile_ci(delta_boot)
        diff = self.document_score(a).mean(axis=0) - self.document_score(b).mean(axis=0)
        return {
            "delta": delta,
            "delta_ci_low": lo,
            "delta_ci_high": hi,
            "p_value": p,
            "p_method": method,
            "delta_seed_ci_low": seed_lo,
            "delta_seed_ci_high": seed_hi,
            "n_examples": a.shape[1],
            "better": int((diff > 1e-12).sum()),
            "worse": int((diff < -1e-12).sum()),
        }


_TASKS: dict[str, Task] = {}
ENTRY_POINTS = "bench.tasks"  # a package's entry points in this group are modules that register task kinds
MODULES_ENV = "BENCH_TASK_MODULES"  # or: comma-separated modules to import (inherited by the spawned workers)
_imported: set[str] = set()


def _load_plugins() -> None:
    """Import the task modules of installed plugins and of `BENCH_TASK_MODULES`, each once."""
    import importlib
    import os
    from importlib import metadata

    wanted = [m.strip() for m in os.environ.get(MODULES_ENV, "").split(",") if m.strip()]
    if "<entry points>" not in _imported:
        _imported.add("<entry points>")
        for ep in metadata.entry_points(group=ENTRY_POINTS):
            ep.load()
    for module in (m for m in wanted if m not in _imported):
        _imported.add(module)
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise BenchError(f"{MODULES_ENV}: cannot import task module {module!r} ({err})") from None


def register(task: type[Task] | Task) -> type[Task] | Task:
    """Register a task kind under its `name` (a class decorator; a third kind is one module that calls it)."""
    instance = task() if isinstance(task, type) else task
    _TASKS[instance.name] = instance
    return task


def unregister(name: str) -> None:
    _TASKS.pop(name, None)


def names() -> tuple[str, ...]:
    _load_plugins()
    return tuple(_TASKS)


def task_for(name: str | None) -> Task:
    """The task registered as `name` (a suite's data.task; None, a record from before tasks had names, is
    single-label)."""
    name = name or "single_label"
    if name not in _TASKS:
        _load_plugins()
    if name not in _TASKS:
        raise BenchError(f"unknown task {name!r}; tasks: {', '.join(_TASKS)}")
    return _TASKS[name]
