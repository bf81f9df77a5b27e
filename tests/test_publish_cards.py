"""A run's test metrics as the Hub's model-index names them, asked of the run's task (no Hub server needed)."""

from __future__ import annotations

import pytest

from bench.publish.cards import eval_results
from bench.results.schema import RunRecord

pytest.importorskip("huggingface_hub")


def test_a_multilabel_record_publishes_its_micro_f1_under_the_multilabel_task():
    record = RunRecord(suite="ml", runner="r", task="multilabel", micro_f1=0.61, macro_f1=0.2, accuracy=0.05)
    shown = {(r.metric_name, r.metric_value, r.task_name) for r in eval_results(record)}
    task = "Multi-label text classification"
    assert shown == {("Test Micro F1", 0.61, task), ("Test Macro F1", 0.2, task), ("Test Subset accuracy", 0.05, task)}


def test_a_single_label_record_and_an_old_record_publish_accuracy_and_f1():
    for task in ("single_label", None):  # None: a record from before tasks had names
        record = RunRecord(suite="s", runner="r", task=task, accuracy=0.9, f1=0.8, f1_average="binary")
        shown = {(r.metric_name, r.metric_value) for r in eval_results(record)}
        assert shown == {("Test Accuracy", 0.9), ("Test F1 (binary)", 0.8)}
        assert {r.task_name for r in eval_results(record)} == {"Text classification"}
