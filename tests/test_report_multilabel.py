"""The multi-label report: label sets read back from predictions, micro-F1 recomputed, the paired test on
per-document F1, and a report with its verdict and plots for a multi-label suite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.report import build_report, multilabel, stats
from bench.report.load import align_predictions, load_results
from tests.report_fixtures import make_record, write_run

LABELS = ["law", "music", "sports"]


def write_multilabel_run(root: Path, runner: str, seed: int, truth: list[list[str]], preds: list[list[str]],
                         **fields) -> None:  # fmt: skip
    """A finished multi-label run's record and predictions file, as `bench run` writes them."""
    rows = [
        {"id": f"d{i}", "labels": json.dumps(t), "preds": json.dumps(p),
         "scores": json.dumps({n: 0.9 if n in p else 0.1 for n in LABELS}), "n_tokens": 100 + 50 * i}
        for i, (t, p) in enumerate(zip(truth, preds, strict=True))
    ]  # fmt: skip
    tp = sum(len(set(t) & set(p)) for t, p in zip(truth, preds, strict=True))
    fp = sum(len(set(p) - set(t)) for t, p in zip(truth, preds, strict=True))
    fn = sum(len(set(t) - set(p)) for t, p in zip(truth, preds, strict=True))
    micro = 2 * tp / (2 * tp + fp + fn)
    record = make_record("ml", runner, seed) | {
        "task": "multilabel", "label_names": LABELS, "micro_f1": micro, "f1": micro, "f1_average": "micro",
        "macro_f1": micro, "samples_f1": micro, "micro_precision": micro, "micro_recall": micro, "threshold": 0.5,
        "positive_label": None, "per_label": {n: {"f1": micro, "precision": micro, "recall": micro, "support": 3}
                                              for n in LABELS},
    } | fields  # fmt: skip
    write_run(root, record, pd.DataFrame(rows))


def truth_sets(n: int) -> list[list[str]]:
    rng = np.random.default_rng(1)
    return [sorted({LABELS[j] for j in rng.choice(3, size=rng.integers(1, 3), replace=False)}) for _ in range(n)]


def test_identical_runners_give_p_1_and_a_clear_difference_a_small_p(tmp_path: Path):
    truth = truth_sets(60)
    write_multilabel_run(tmp_path, "a", 0, truth, truth)
    write_multilabel_run(tmp_path, "same", 0, truth, truth)
    wrong = [[n for n in LABELS if n not in t] for t in truth]
    write_multilabel_run(
        tmp_path, "worse", 0, truth, [w if i % 4 else t for i, (t, w) in enumerate(zip(truth, wrong, strict=True))]
    )
    results = load_results(tmp_path, "ml")
    assert results.task == "multilabel"
    aligned = align_predictions(results.predictions)
    docs = multilabel.document_counts(results, aligned)
    table = multilabel.comparison_table(docs, ["a", "same", "worse"], "a").set_index("runner")
    assert table.loc["same", "p_value"] == 1.0 and table.loc["same", "delta_samples_f1"] == 0.0
    assert table.loc["worse", "p_value"] < 0.001 and table.loc["worse", "delta_samples_f1"] < -0.5
    assert table.loc["worse", "delta_ci_high"] < 0 and table.loc["worse", "p_holm"] < 0.01
    # subset accuracy in the generic tables: an exact match per document
    assert results.predictions.groupby("runner")["correct"].mean().to_dict() == {"a": 1.0, "same": 1.0, "worse": 0.25}


def test_permutation_test_on_real_valued_differences():
    rng = np.random.default_rng(0)
    assert stats.paired_permutation_test(np.zeros(40)) == 1.0
    assert stats.paired_permutation_test(rng.normal(0, 1, 200)) > 0.05
    assert stats.paired_permutation_test(rng.normal(0.5, 1, 200)) < 0.001


def test_micro_f1_from_the_predictions_equals_the_records(tmp_path: Path):
    truth = truth_sets(30)
    preds = [t[:1] + (["law"] if i % 3 == 0 else []) for i, t in enumerate(truth)]
    write_multilabel_run(tmp_path, "a", 0, truth, preds)
    results = load_results(tmp_path, "ml")
    docs = multilabel.document_counts(results, align_predictions(results.predictions))
    quality = multilabel.quality_table(results, docs, ["a"]).iloc[0]
    assert multilabel.micro_f1(docs.counts["a"])[0] == pytest.approx(quality["micro_f1_mean"])
    assert quality["micro_f1_ci_low"] <= quality["micro_f1_mean"] <= quality["micro_f1_ci_high"]


def test_the_report_renders_with_verdict_tables_and_plots(tmp_path: Path):
    truth = truth_sets(40)
    write_multilabel_run(tmp_path, "tiny-roberta-128", 0, truth, [t[:1] for t in truth], max_length=128,
                         truncation="head", model_family="tiny-roberta")  # fmt: skip
    write_multilabel_run(tmp_path, "tfidf-logreg", 0, truth, truth, max_length=None, truncation="none",
                         model_family="tfidf-logreg")  # fmt: skip
    out = tmp_path / "report"
    md = build_report(tmp_path, "ml", out, baseline="tiny-roberta-128").read_text()
    for heading in ("## Multi-label quality", "### Per-label F1", "### Paired comparison on per-document F1",
                    "### Per-document F1 by document length"):  # fmt: skip
        assert heading in md
    verdict = (out / "verdict.md").read_text()
    assert verdict.startswith("tfidf-logreg has the best micro-F1 (100.0%)")  # judged on the task's main metric
    assert "accuracy" not in verdict.split("These rest on")[0]  # subset accuracy judges nothing
    for name in ("multilabel_f1_by_length", "multilabel_per_label_f1", "accuracy_by_length"):
        assert (out / "plots" / f"{name}.png").stat().st_size > 1000
    assert (out / "tables" / "multilabel_quality.csv").exists() and (out / "report.html").exists()
    # the length table's file names its metric (it said accuracy_mean for per-document F1 on the EURLEX report)
    lengths = pd.read_csv(out / "tables" / "multilabel_lengths.csv")
    assert "samples_f1_mean" in lengths and "accuracy_mean" not in lengths


def test_a_multilabel_verdict_judges_long_context_on_micro_f1_not_subset_accuracy(tmp_path: Path):
    """No document's set is predicted exactly by either runner (subset accuracy 0 for both: McNemar p = 1), but the
    long-context runner finds two of the three labels where the baseline finds one: micro-F1 0.8 against 0.5."""
    truth = [list(LABELS)] * 60
    write_multilabel_run(tmp_path, "tiny-roberta-128", 0, truth, [LABELS[:1]] * 60, max_length=128,
                         truncation="head", model_family="tiny-roberta", micro_f1=0.5)  # fmt: skip
    write_multilabel_run(tmp_path, "longformer-4096", 0, truth, [LABELS[:2]] * 60, max_length=4096,
                         truncation="head", model_family="longformer", micro_f1=0.8)  # fmt: skip
    out = tmp_path / "report"
    build_report(tmp_path, "ml", out, baseline="tiny-roberta-128")
    verdict = (out / "verdict.md").read_text()
    assert verdict.startswith("longformer-4096 has the best micro-F1 (80.0%), clear of every other runner.")
    assert "Reading more pays on these documents: longformer-4096 beats tiny-roberta-128" in verdict
    assert "longformer-4096: +30.00 pp over tiny-roberta-128 in micro-F1" in verdict
    assert "paired sign-flip on per-document F1" in verdict and "no long-context winner" not in verdict
    comparison = pd.read_csv(out / "tables" / "comparison.csv")
    assert list(comparison["metric"]) == ["micro_f1"] and comparison["p_holm"].iloc[0] < 0.001


def test_the_summary_names_the_best_runner_on_micro_f1_and_shows_the_label_groups(tmp_path: Path):
    """Found on the real EURLEX57K report: its first lines said "Most accurate: tfidf-logreg (accuracy 0.030)", by
    subset accuracy, where the verdict judges on micro-F1. Here the two disagree: `exact` predicts half the documents'
    sets exactly and nothing for the rest (subset accuracy 0.5, micro-F1 0.667); `broad` finds two of three labels
    everywhere (subset accuracy 0, micro-F1 0.8). The Multi-label table shows the frequent / few-shot / zero-shot
    micro-F1 the records carry."""
    truth = [list(LABELS)] * 60
    groups = {"micro_f1_frequent": 0.91, "micro_f1_few_shot": 0.42, "micro_f1_zero_shot": None}
    write_multilabel_run(tmp_path, "exact", 0, truth, [list(LABELS)] * 30 + [[]] * 30, max_length=128,
                         truncation="head", model_family="tiny-roberta", accuracy=0.5, **groups)  # fmt: skip
    write_multilabel_run(tmp_path, "broad", 0, truth, [LABELS[:2]] * 60, max_length=512,
                         truncation="head", model_family="tiny-roberta", accuracy=0.0, **groups)  # fmt: skip
    md = build_report(tmp_path, "ml", tmp_path / "report", baseline="exact").read_text()
    assert "Best micro-F1: **broad** (micro-F1 0.800)" in md and "Most accurate" not in md
    assert "Pareto front of micro-F1 vs training time" in md
    quality = md.split("## Multi-label quality")[1].split("###")[0]
    assert "| frequent | few-shot | zero-shot |" in quality and "| 0.910 | 0.420 | — |" in quality


def test_the_per_label_table_shows_the_labels_with_most_test_documents_and_points_to_the_csv(tmp_path: Path):
    """EURLEX57K has 4,271 labels: the page showed every one (4,296 lines, most with no test document); it shows
    the PER_LABEL_SHOWN with the most test support, and the csv keeps them all."""
    from bench.report.multilabel_section import PER_LABEL_SHOWN

    truth = truth_sets(40)
    many = {
        f"c{i:03d}": {"f1": 0.5, "precision": 0.5, "recall": 0.5, "support": i} for i in range(PER_LABEL_SHOWN + 12)
    }
    write_multilabel_run(tmp_path, "tfidf-logreg", 0, truth, truth, max_length=None, truncation="none",
                         model_family="tfidf-logreg", per_label=many)  # fmt: skip
    out = tmp_path / "report"
    md = build_report(tmp_path, "ml", out).read_text()
    table = md.split("### Per-label F1")[1].split("###")[0]
    rows = [line for line in table.splitlines() if line.startswith("| c")]
    assert len(rows) == PER_LABEL_SHOWN and rows[0].startswith(f"| c{PER_LABEL_SHOWN + 11:03d} ")
    assert r"the other 12 are in tables/multilabel\_per\_label.csv" in table
    assert len(pd.read_csv(out / "tables" / "multilabel_per_label.csv")) == PER_LABEL_SHOWN + 12
