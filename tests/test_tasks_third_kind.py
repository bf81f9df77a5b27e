"""A third task kind, defined here and nowhere in bench: an ordinal task (star ratings 0..4) judged on within-one
accuracy (the share of predictions at most one step from the truth). It goes through `bench run` (a scikit-learn
runner, in bench's spawned workers), the report, the verdict and the leaderboard with no change to any of them:
what differs lives in the task class alone (docs/architecture.md, "A task kind")."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from bench.tasks import register, task_for, unregister
from bench.tasks.base import MODULES_ENV
from bench.tasks.single_label import SingleLabel

NAME = "ordinal_toy"


class Ordinal(SingleLabel):
    """Single-label data, training and decision (argmax); its own main metric, document statistics and test."""

    name = NAME
    title = "ordinal"
    main_metric = "within_one"
    reported_metrics = ("within_one", "accuracy")
    selection_metrics = ("within_one", "accuracy", "loss")
    labels: ClassVar[dict[str, str]] = {"within_one": "within-one accuracy", "accuracy": "exact accuracy"}
    p_method = "paired sign-flip on within-one hits"
    mean_metric = "within_one"
    sections = ()  # no per-class tables

    def metrics(self, targets, scores, decision, n_labels, positive_id) -> dict[str, Any]:
        preds = np.asarray(scores).argmax(-1)
        within = float(np.mean(np.abs(preds - np.asarray(targets)) <= 1))
        return {**super().metrics(targets, scores, decision, n_labels, positive_id), "within_one": within}

    def document_stats(self, rows) -> np.ndarray:
        label, pred = rows["label"].to_numpy(), rows["pred"].to_numpy()
        return np.stack([(label == pred), np.abs(label - pred) <= 1], axis=1).astype(float)

    def value(self, metric: str, sums: np.ndarray, n: int) -> np.ndarray:
        column = {"accuracy": 0, "within_one": 1}.get(metric)
        return np.full(np.shape(sums)[:-1], np.nan) if column is None else np.asarray(sums)[..., column] / n

    def document_score(self, doc_stats: np.ndarray) -> np.ndarray:
        return np.asarray(doc_stats)[..., 1]

    def paired_test(self, a: np.ndarray, b: np.ndarray) -> tuple[float, str]:
        return super(SingleLabel, self).paired_test(a, b)  # the base's: a sign-flip test on document_score

    def intervals(self, aligned, runner, n_classes, positive_id) -> dict[str, tuple]:
        return super(SingleLabel, self).intervals(aligned, runner, n_classes, positive_id)  # from document_stats


if __name__ in os.environ.get(MODULES_ENV, ""):  # imported by a spawned worker, which must know the kind too
    register(Ordinal)


@pytest.fixture
def ordinal(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(MODULES_ENV, __name__)
    register(Ordinal)
    yield task_for(NAME)
    unregister(NAME)


def _write_split(path: Path, n: int, seed: int) -> None:
    """Reviews whose star word says the rating, in a sentence of filler."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(30)]
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            stars = i % 5
            text = " ".join([*rng.choices(words, k=12), f"stars{stars}", *rng.choices(words, k=12)])
            f.write(json.dumps({"text": text, "label": stars}) + "\n")


SUITE = """
name: ordinal
data: {source: files, files: {train: train.jsonl, test: test.jsonl}, task: ordinal_toy}
runners:
  - {runner: tfidf-logreg, ngram_max: 1}
  - {runner: tfidf-logreg, alias: tfidf-weak, ngram_max: 1, c_grid: [0.001]}
seeds: [0]
"""


@pytest.mark.slow
def test_a_third_task_kind_runs_reports_and_ranks_with_no_change_to_bench(
    ordinal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.cli import main
    from bench.report import build_report
    from bench.report.leaderboard import leaderboard

    _write_split(tmp_path / "train.jsonl", 150, 0)
    _write_split(tmp_path / "test.jsonl", 100, 1)
    (tmp_path / "ordinal.yaml").write_text(SUITE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "results"
    assert main(["run", "--suite", str(tmp_path / "ordinal.yaml"), "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "done: within-one accuracy" in out and "within-one accuracy" in out.split("report:")[0]

    record = json.loads((results / "ordinal" / "runs" / "tfidf-logreg" / "seed0.json").read_text())
    assert record["task"] == NAME and record["task_metrics"]["within_one"] >= record["accuracy"]
    assert record["epochs"][0]["val_within_one"] is not None  # the epoch (setting) was chosen on it

    report = tmp_path / "report"
    build_report(results, "ordinal", report, baseline="tfidf-weak")
    verdict = (report / "verdict.md").read_text(encoding="utf-8")
    assert "within-one accuracy" in verdict.splitlines()[0]
    summary = pd.read_csv(report / "tables" / "summary.csv").set_index("runner")
    assert summary.loc["tfidf-logreg", "within_one_mean"] == pytest.approx(record["task_metrics"]["within_one"])
    low, high = summary.loc["tfidf-logreg", "within_one_ci_low"], summary.loc["tfidf-logreg", "within_one_ci_high"]
    assert low <= record["task_metrics"]["within_one"] <= high
    comparison = pd.read_csv(report / "tables" / "comparison.csv")
    assert list(comparison["metric"]) == ["within_one"]
    assert list(comparison["p_method"]) == ["paired sign-flip on within-one hits"]

    board = leaderboard(results)
    assert board.columns[0].label == "within-one accuracy"
    assert board.table.set_index("runner").loc["tfidf-logreg", "ordinal.rank"] == 1
