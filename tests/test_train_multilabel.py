"""Multi-label training end to end: the threshold and metrics, TF-IDF one-vs-rest and a tiny transformer runner on a
generated multi-label user suite, and records whose micro-F1 scikit-learn recomputes from the predictions file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score
from sklearn.preprocessing import MultiLabelBinarizer

import bench
from bench.data import load_suite_data
from bench.data.suite import load_suite
from bench.data.synthetic_multilabel import MultiLabelSpec, generate
from bench.runners import build_runner
from bench.tasks.multi_label_metrics import (
    KEPT_SCORES,
    THRESHOLDS,
    choose_threshold,
    document_f1,
    multilabel_metrics,
    prediction_rows,
)
from bench.train import train_and_evaluate

SPEC = MultiLabelSpec(n_train=240, n_test=80, min_tokens=150, max_tokens=300, cue_length=10, n_labels=4)
TINY = {"runner": "tiny-roberta-128", "hidden_size": 32, "num_layers": 1, "vocab_size": 400}


def write_suite(folder: Path, runners: list) -> Path:
    """Generated multi-label train/test files and a user suite reading them."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        rows = "".join(json.dumps(r) + "\n" for r in generate(SPEC, split))
        (folder / f"{split}.jsonl.gz").write_bytes(gzip.compress(rows.encode()))
    suite = {
        "name": "ml",
        "data": {"source": "files", "files": {"train": "train.jsonl.gz", "test": "test.jsonl.gz"},
                 "task": "multilabel", "label_column": "labels"},
        "runners": runners,
        "protocol": {"epochs": 2, "batch_size": 8, "per_device_batch_size": 8, "eval_batch_size": 32,
                     "learning_rate": 3e-3},
    }  # fmt: skip
    path = folder / "ml.yaml"
    path.write_text(json.dumps(suite))  # JSON is YAML
    return path


def recomputed_micro_f1(record: dict, predictions: Path) -> float:
    frame = pd.read_csv(predictions)
    binarize = MultiLabelBinarizer(classes=record["label_names"])
    true = binarize.fit_transform(frame["labels"].map(json.loads))
    pred = binarize.transform(frame["preds"].map(json.loads))
    return float(f1_score(true, pred, average="micro"))


def test_the_threshold_is_the_grid_value_with_the_best_micro_f1():
    targets = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    scores = np.array([[0.32, 0.10], [0.20, 0.33], [0.40, 0.36], [0.05, 0.21]])
    chosen = choose_threshold(targets, scores)
    best = max(f1_score(targets, scores >= t, average="micro") for t in THRESHOLDS)
    assert f1_score(targets, scores >= chosen, average="micro") == best == 1.0
    assert 0.25 <= chosen <= 0.30  # the lowest threshold of the perfect ones, above 0.21 and at most 0.32


def test_metrics_match_scikit_learn_and_per_document_f1():
    rng = np.random.default_rng(0)
    targets = rng.random((50, 5)) < 0.3
    scores = rng.random((50, 5))
    m = multilabel_metrics(targets, scores, 0.6, list("abcde"))
    preds = scores >= 0.6
    assert m["micro_f1"] == pytest.approx(f1_score(targets, preds, average="micro", zero_division=0))
    assert m["macro_f1"] == pytest.approx(f1_score(targets, preds, average="macro", zero_division=0))
    assert m["samples_f1"] == pytest.approx(f1_score(targets, preds, average="samples", zero_division=1))
    assert m["per_label"]["c"]["support"] == int(targets[:, 2].sum())
    assert document_f1(np.array([[0, 0], [1, 1]]), np.array([[0, 0], [1, 0]])).tolist() == [1.0, 2 / 3]
    rows = prediction_rows(["x"], targets[:1], scores[:1], 0.6, list("abcde"), [7])
    assert json.loads(rows[0]["preds"]) == [n for n, s in zip("abcde", scores[0], strict=True) if s >= 0.6]


def test_macro_f1_leaves_out_labels_neither_in_test_nor_predicted_and_counts_missed_ones_as_zero():
    """The literature's macro-F1 over a large label space (EURLEX57K: 4,271 concepts, most absent from any one
    test sample): a label no test document has and none is given has no F1 and is left out (sklearn's
    zero_division=nan), where zero_division=0 counted it as 0; a label in test that is never predicted (a zero-shot
    concept) is a miss, F1 0."""
    targets = np.array([[1, 0, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0]])  # d: no test document
    scores = np.array([[0.9, 0.1, 0.1, 0.1], [0.9, 0.1, 0.1, 0.1], [0.1, 0.9, 0.1, 0.1]])  # c never predicted
    m = multilabel_metrics(targets, scores, 0.5, list("abcd"))
    assert m["macro_f1"] == pytest.approx((1.0 + 1.0 + 0.0) / 3)  # a, b perfect; c missed; d left out
    assert m["per_label"]["c"]["f1"] == 0.0 and m["per_label"]["c"]["support"] == 1
    assert multilabel_metrics(np.zeros((2, 3)), np.zeros((2, 3)), 0.5)["macro_f1"] is None  # no label to average


def test_frequent_few_shot_and_zero_shot_labels_are_scored_apart():
    """Chalkidis et al. (2019)'s groups on the training counts: 50+ documents frequent, 1-49 few-shot, 0 zero-shot
    (the rule that gives their 746 / 3,362 / 163 on EURLEX57K)."""
    from bench.tasks.multi_label_metrics import label_groups, record_fields

    groups = label_groups([60, 50, 49, 1, 0])
    assert {k: v.tolist() for k, v in groups.items()} == {"frequent": [0, 1], "few_shot": [2, 3], "zero_shot": [4]}
    targets = np.array([[1, 0, 1, 0, 1], [0, 1, 0, 0, 0]])
    scores = np.array([[0.9, 0.1, 0.9, 0.1, 0.1], [0.1, 0.9, 0.9, 0.1, 0.1]])  # label 2: one hit, one false alarm
    m = record_fields(targets, scores, 0.5, list("abcde"), [60, 50, 49, 1, 0])
    assert (m["micro_f1_frequent"], m["micro_f1_few_shot"], m["micro_f1_zero_shot"]) == (1.0, 2 / 3, 0.0)
    assert record_fields(targets, scores, 0.5, list("abcde"), [60, 50, 49, 1, 1])["micro_f1_zero_shot"] is None
    assert "micro_f1_frequent" not in record_fields(targets, scores, 0.5, list("abcde"))


def test_a_row_of_many_labels_keeps_the_top_scores_and_every_true_and_predicted_one():
    rng = np.random.default_rng(0)
    names = [f"c{j}" for j in range(4271)]
    scores = rng.uniform(0, 0.3, size=(3, len(names)))
    scores[:, 7] = 0.9  # predicted everywhere; label 4000 is true in row 0 and scored low
    targets = np.zeros_like(scores, dtype=int)
    targets[0, 4000], scores[0, 4000] = 1, 0.0
    rows = prediction_rows(["a", "b", "c"], targets, scores, 0.5, names, [10, 20, 30])
    kept = [json.loads(r["scores"]) for r in rows]
    assert len(kept[1]) == KEPT_SCORES and "c4000" in kept[0] and len(kept[0]) == KEPT_SCORES + 1
    assert all(list(k) == sorted(k, key=names.index) for k in kept)  # label order
    top = np.sort(scores[1])[-KEPT_SCORES:]
    assert sorted(kept[1].values()) == pytest.approx(top.tolist())  # the highest, not any 100
    assert [json.loads(r["preds"]) for r in rows] == [["c7"]] * 3 and json.loads(rows[0]["labels"]) == ["c4000"]
    assert len(rows[0]["scores"]) < 5_000  # ~140 KB a document with every label's score


def test_tfidf_one_vs_rest_learns_the_cues_and_records_its_threshold(tmp_path: Path):
    data = load_suite_data(load_suite(write_suite(tmp_path, ["tfidf-logreg"])))
    suite = load_suite(tmp_path / "ml.yaml")
    metrics, predictions = train_and_evaluate(build_runner("tfidf-logreg"), data, suite.protocol, 0, tmp_path / "c")
    assert metrics["f1_average"] == "micro" and metrics["f1"] == metrics["micro_f1"] > 0.9  # the whole text is read
    chosen = metrics["epochs"][metrics["best_epoch"] - 1]
    assert metrics["threshold"] == chosen["val_threshold"] and metrics["threshold"] in THRESHOLDS
    assert set(metrics["per_label"]) == set(SPEC.label_names) and len(predictions) == SPEC.n_test
    assert metrics["n_train_split"] == data.n_train_split > 0  # a multi-label budget is scaled like any other


@pytest.fixture(scope="module")
def ml_run(tmp_path_factory) -> Path:
    """`bench run` of the generated suite with tfidf-logreg and a tiny transformer (a few steps); its results."""
    folder = tmp_path_factory.mktemp("ml")
    suite = write_suite(folder, ["tfidf-logreg", TINY])
    bench.run(suite, results=folder / "results", reports=None)
    return folder / "results"


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["tfidf-logreg", "tiny-roberta-128"])
def test_record_micro_f1_is_scikit_learns_from_the_predictions_file(ml_run: Path, runner: str):
    runs = ml_run / "ml" / "runs" / runner
    record = json.loads((runs / "seed0.json").read_text())
    assert record["status"] == "ok" and record["task"] == "multilabel", record.get("error")
    assert record["micro_f1"] == pytest.approx(recomputed_micro_f1(record, runs / "seed0.predictions.csv"), abs=1e-12)
    assert record["threshold"] in THRESHOLDS and record["f1_average"] == "micro"
    frame = pd.read_csv(runs / "seed0.predictions.csv")
    scores = frame["scores"].map(json.loads)
    assert (
        list(scores.iloc[0]) == record["label_names"]
    )  # every label's score (a suite of at most KEPT_SCORES labels), in label order
    # the predicted set is exactly the labels whose score reaches the recorded threshold
    for s, preds in zip(scores, frame["preds"].map(json.loads), strict=True):
        assert preds == [n for n, v in s.items() if v >= record["threshold"]]


def test_the_chunk_classifier_takes_bce_for_float_label_rows():
    import torch

    runner = build_runner("tiny-roberta-chunks-2048", {"hidden_size": 16, "num_layers": 1, "vocab_size": 100})
    model = runner.build_model(["a", "b", "c"]).eval()
    ids = torch.randint(5, 100, (2, runner.chunk_length * 2))
    ids[:, 0] = ids[:, runner.chunk_length] = 0  # each chunk starts with <s>
    mask = torch.ones_like(ids)
    targets = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    out = model(input_ids=ids, attention_mask=mask, labels=targets)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(out.logits.float(), targets)
    assert out.logits.shape == (2, 3) and torch.allclose(out.loss, expected)


@pytest.mark.slow
def test_bench_run_prints_a_synthetic_multilabel_suite(tmp_path: Path, capsys, monkeypatch):
    from bench.cli import main

    monkeypatch.chdir(tmp_path)
    spec = {"n_train": 80, "n_test": 30, "min_tokens": 60, "max_tokens": 90, "cue_length": 8, "n_labels": 3}
    suite = {"name": "mls", "data": {"source": "synthetic", "task": "multilabel", "synthetic": spec},
             "runners": ["tfidf-logreg"]}  # fmt: skip
    (tmp_path / "mls.yaml").write_text(json.dumps(suite))
    assert main(["run", "--suite", "mls.yaml", "--results", "results"]) == 0
    out = capsys.readouterr().out
    assert "done: micro-F1" in out and "tfidf-logreg is the only runner with a result (micro-F1" in out
    header = next(line for line in out.splitlines() if line.split()[:2] == ["runner", "seed"])
    assert "micro-F1" in header and "accuracy" not in header  # the console table: one quality column, named
    assert (tmp_path / "reports" / "mls" / "plots" / "multilabel_f1_by_length.png").exists()
