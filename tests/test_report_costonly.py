"""Random-init runs are cost only: shown in the cost table and cost plots, never ranked or compared on quality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.report import ReportError, build_report
from tests.report_fixtures import make_record, make_test_set, predictions, prf, write_run

RANDOM = "longformer-256-4096@random-init"


def _section(text: str, heading: str) -> str:
    return text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """Two pretrained runners (0.80, 0.85) and a random-init one whose (made-up) accuracy of 0.95 would win every
    ranking it were allowed into, and that is faster than both: on a Pareto front it would dominate."""
    root = tmp_path_factory.mktemp("mixed")
    labels, n_tokens = make_test_set(100)
    rows = (
        ("roberta-512", 512, None, 80, "pretrained", 20000.0),
        ("longformer-256-1024", 1024, 256, 85, "pretrained", 15000.0),
        (RANDOM, 4096, 256, 95, "random", 90000.0),
    )
    for runner, length, window, right, init, tps in rows:
        preds = np.where(np.arange(100) < right, labels, 1 - labels)
        family = "roberta" if window is None else "longformer"
        record = make_record("mixed", runner, 0, metrics=prf(labels, preds), family=family, max_length=length,
                             attention_window=window, init=init, train_tokens_per_s=tps,
                             train_s=10.0 if init == "random" else 100.0 * length / 512)  # fmt: skip
        write_run(root / "results", record, predictions(labels, preds, n_tokens))
    return build_report(root / "results", "mixed", root / "report")


def test_cost_only_runs_are_in_the_cost_table_and_nowhere_in_quality(mixed):
    text = mixed.read_text(encoding="utf-8")
    quality, cost = _section(text, "Quality"), _section(text, "Cost")
    assert RANDOM in cost and "cost only: random weights" in cost
    table_rows = [line for line in quality.splitlines() if line.startswith("| ")]
    assert not any(RANDOM in row for row in table_rows)
    assert "**Cost only** (left out of this table, the rankings" in quality and RANDOM in quality
    assert "Best accuracy: **longformer-256-1024**" in text
    pareto = next(line for line in text.splitlines() if "Pareto front of accuracy" in line)
    assert RANDOM not in pareto
    assert RANDOM not in _section(text, "Paired comparison with the baseline")
    assert RANDOM not in _section(text, "Accuracy by document length")


def test_cost_only_runs_are_in_the_csv_tables_as_such(mixed):
    tables = mixed.parent / "tables"
    summary = pd.read_csv(tables / "summary.csv").set_index("runner")
    assert summary.loc[RANDOM, "cost_only"] and summary.loc[RANDOM, "init"] == "random"
    assert not summary.loc["roberta-512", "cost_only"]
    assert RANDOM not in set(pd.read_csv(tables / "comparison.csv")["runner"])
    assert RANDOM not in set(pd.read_csv(tables / "learning_curves.csv")["runner"])
    assert RANDOM not in set(pd.read_csv(tables / "accuracy_by_length.csv")["runner"])


def test_a_cost_only_runner_cannot_be_the_baseline(mixed, tmp_path):
    with pytest.raises(ReportError, match="random weights \\(cost only\\); pick a runner with trained weights"):
        build_report(mixed.parent.parent / "results", "mixed", tmp_path, baseline=RANDOM)


def test_a_suite_of_cost_only_runs_still_reports_its_cost(tmp_path):
    labels, n_tokens = make_test_set(100)
    for runner, length in (("roberta-512@random-init", 512), (RANDOM, 4096)):
        record = make_record("arch", runner, 0, metrics=prf(labels, labels), max_length=length, init="random")
        write_run(tmp_path, record, predictions(labels, labels, n_tokens))
    report = build_report(tmp_path, "arch", tmp_path / "report")
    text = report.read_text(encoding="utf-8")
    assert "No baseline" in text
    assert "Not plotted: Accuracy vs max sequence length: no successful runs with trained weights" in text
    assert (tmp_path / "report" / "plots" / "memory_vs_length.png").exists()
    assert "roberta-512@random-init" in _section(text, "Cost")
