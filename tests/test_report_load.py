"""Reading a suite's records for the report through the results store: runs of one runner under two configuration
keys are not pooled, and a paired comparison on fewer test documents than the suite has says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.report import build_report
from bench.report.errors import ReportError
from bench.report.load import load_results
from tests.report_fixtures import make_record, make_test_set, predictions, prf, write_run

KEY = {"version": 1, "limit": None, "protocol": {"epochs": 3}}


def write(results: Path, runner: str, seed: int, key: dict | None, keep: slice = slice(None), **fields) -> None:
    labels, n_tokens = make_test_set()
    preds = np.where(np.arange(len(labels)) % 7 == seed, 1 - labels, labels)
    record = make_record("s", runner, seed, metrics=prf(labels, preds), config_key=key, **fields)
    write_run(results, record, predictions(labels, preds, n_tokens).iloc[keep])


def test_runs_of_one_runner_with_different_configurations_are_not_pooled(tmp_path: Path):
    write(tmp_path, "roberta-512", 0, KEY)
    write(tmp_path, "roberta-512", 1, {**KEY, "limit": 600})
    with pytest.raises(ReportError, match=r"runner roberta-512: seed 0 and seed 1 were made with different .*--limit"):
        load_results(tmp_path, "s")


def test_different_runners_and_records_without_a_key_are_read(tmp_path: Path):
    write(tmp_path, "roberta-512", 0, KEY)
    write(tmp_path, "roberta-512", 1, KEY)
    write(tmp_path, "longformer-512-4096", 0, {**KEY, "runner": {"max_length": 4096}}, family="longformer")
    write(tmp_path, "longformer-512-4096", 1, None, family="longformer")  # hand-made: nothing to compare
    assert sorted(load_results(tmp_path, "s").runs["runner"]) == ["longformer-512-4096"] * 2 + ["roberta-512"] * 2


def test_a_paired_comparison_on_fewer_documents_than_the_suite_says_so(tmp_path: Path):
    write(tmp_path, "roberta-512", 0, KEY)
    write(tmp_path, "longformer-512-4096", 0, KEY, keep=slice(0, 150), family="longformer")
    text = build_report(tmp_path, "s", tmp_path / "report").read_text(encoding="utf-8")
    assert "on the same 150 (of the suite's 200: the others lack a prediction from some run" in text
