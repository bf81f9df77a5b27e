"""Per-class precision/recall/F1 and confusion matrices equal scikit-learn's, and the report shows them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from bench.report import build_report, classes
from bench.report.load import load_results
from tests.report_fixtures import make_record, make_test_set, predictions, prf, write_run

RANDOM = "roberta-512@random-init"


def _frame(runner: str, seed: int, labels: np.ndarray, preds: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"runner": runner, "seed": seed, "label": labels, "pred": preds})


def test_three_classes_equal_sklearn_pooled_over_seeds():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 300)
    seeds = [np.where(rng.random(300) < 0.7, labels, rng.integers(0, 3, 300)) for _ in range(2)]
    frame = pd.concat([_frame("r", s, labels, p) for s, p in enumerate(seeds)], ignore_index=True)
    table = classes.per_class_table(frame, ["a", "b", "c"], ["r"]).set_index("class")
    pooled_true, pooled_pred = np.concatenate([labels, labels]), np.concatenate(seeds)
    precision, recall, f1, support = precision_recall_fscore_support(pooled_true, pooled_pred, labels=[0, 1, 2],
                                                                     zero_division=0)  # fmt: skip
    np.testing.assert_allclose(table["precision"], precision)
    np.testing.assert_allclose(table["recall"], recall)
    np.testing.assert_allclose(table["f1"], f1)
    np.testing.assert_array_equal(table["support"], support)
    assert set(table["seeds"]) == {2}
    matrix = classes.confusion_matrices(frame, 3, ["r"])["r"]
    np.testing.assert_array_equal(matrix, confusion_matrix(pooled_true, pooled_pred, labels=[0, 1, 2]))


def test_a_never_predicted_class_scores_zero_like_sklearn():
    labels, preds = np.array([0, 1, 2, 2, 1, 0]), np.array([0, 0, 0, 1, 1, 0])
    figures = classes.scores(classes.confusion(labels, preds, 3))
    precision, recall, f1, _ = precision_recall_fscore_support(labels, preds, labels=[0, 1, 2], zero_division=0)
    np.testing.assert_allclose(figures["precision"], precision)
    np.testing.assert_allclose(figures["recall"], recall)
    np.testing.assert_allclose(figures["f1"], f1)
    assert figures["f1"][2] == 0.0


def test_class_names_extend_past_the_record_names():
    frame = _frame("r", 0, np.array([0, 1]), np.array([2, 1]))
    assert classes.class_names(["neg", "pos"], frame) == ["neg", "pos", "2"]


@pytest.fixture(scope="module")
def three_class(tmp_path_factory) -> Path:
    """Two trained runners on a 3-class test set (two seeds of one), and a random-init one."""
    root = tmp_path_factory.mktemp("three")
    rng = np.random.default_rng(0)
    _, n_tokens = make_test_set(120)
    labels = np.arange(120) % 3
    for runner, seed, right in (("roberta-512", 0, 0.8), ("roberta-512", 1, 0.7), ("minilm-128", 0, 0.6),
                                (RANDOM, 0, 0.99)):  # fmt: skip
        preds = np.where(rng.random(120) < right, labels, (labels + 1) % 3)
        metrics = {**prf(labels, preds), "f1": 0.5, "precision": 0.5, "recall": 0.5}
        record = make_record("three", runner, seed, metrics=metrics, max_length=128 if "minilm" in runner else 512,
                             label_names=["sport", "world", "tech"], f1_average="macro",
                             init="random" if runner == RANDOM else "pretrained")  # fmt: skip
        frame = predictions(labels, preds, n_tokens).assign(score=np.where(preds == labels, 0.9, 0.6))
        write_run(root / "results", record, frame)
    return build_report(root / "results", "three", root / "report")


def _section(text: str, heading: str) -> str:
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_report_has_per_class_figures_equal_to_sklearn(three_class):
    text = three_class.read_text(encoding="utf-8")
    section = _section(text, "Per class")
    for name in ("sport", "world", "tech", "roberta-512", "minilm-128", "Confusion matrices"):
        assert name in section
    assert RANDOM not in section.split("Cost only", 1)[0]  # only named in the note on why it is left out
    results = load_results(three_class.parent.parent / "results", "three")
    rows = results.predictions[results.predictions["runner"] == "minilm-128"]
    _, _, f1, _ = precision_recall_fscore_support(rows["label"], rows["pred"], labels=[0, 1, 2], zero_division=0)
    csv = pd.read_csv(three_class.parent / "tables" / "per_class.csv")
    np.testing.assert_allclose(csv.loc[csv["runner"] == "minilm-128", "f1"], f1, rtol=1e-5)
    assert f"| {f1[0]:.3f} |" in section or f"**{f1[0]:.3f}**" in section
    assert set(csv["runner"]) == {"roberta-512", "minilm-128"}
    confusion = pd.read_csv(three_class.parent / "tables" / "confusion.csv")
    assert confusion.loc[confusion["runner"] == "roberta-512", "count"].sum() == 240  # two seeds pooled
    assert (three_class.parent / "plots" / "confusion_matrices.png").stat().st_size > 1000
    html = (three_class.parent / "report.html").read_text(encoding="utf-8")
    assert "Per class" in html and "Confusion matrices" in html


def test_a_multilabel_suite_gets_a_note_not_a_crash():
    from bench.report.classes_section import ClassesReport, calibration_section, per_class_section

    empty = pd.DataFrame()
    report = ClassesReport([], empty, {}, empty, empty, None, [], "a multi-label suite")
    blocks = [*per_class_section(report), *calibration_section(report)]
    paragraphs = [b for b in blocks if hasattr(b, "spans")]
    assert any("Not shown: a multi-label suite" in "".join(map(str, p.spans)) for p in paragraphs)
