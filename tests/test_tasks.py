"""The task kinds (bench/tasks/): the registry, what each reports as its main metric, and the paired comparison the
verdict and the leaderboard use, checked against direct computations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bench import stats
from bench.errors import BenchError
from bench.results.schema import RunRecord
from bench.tasks import names, task_for


def test_the_registry_names_the_built_in_kinds_and_refuses_others():
    assert {"single_label", "multilabel"} <= set(names())
    assert task_for(None).name == "single_label"  # records from before tasks had names
    with pytest.raises(BenchError, match="unknown task 'ordinal'"):
        task_for("ordinal")


def test_the_console_line_is_the_main_metric_named():
    """What `bench run` prints for a finished run and `bench status` shows beside it."""
    single = RunRecord(suite="s", runner="r", seed=0, status="ok", accuracy=0.9, micro_f1=None)
    multi = RunRecord(suite="s", runner="r", seed=0, status="ok", accuracy=0.1, micro_f1=0.8125, task="multilabel")
    assert task_for(single.task).describe(single) == "accuracy 0.9000"
    assert task_for(multi.task).describe(multi) == "micro-F1 0.8125"


def _rows(truth: list[list[str]], preds: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame({"labels": [json.dumps(t) for t in truth], "preds": [json.dumps(p) for p in preds]})


def test_multilabel_micro_f1_from_document_statistics_and_its_paired_comparison():
    task = task_for("multilabel")
    rng = np.random.default_rng(0)
    names_ = ["a", "b", "c", "d"]
    truth = [sorted(rng.choice(names_, size=2, replace=False).tolist()) for _ in range(80)]
    good = [t if i % 4 else t[:1] for i, t in enumerate(truth)]
    poor = [t[:1] + (["d"] if "d" not in t else []) for t in truth]
    a, b = (task.document_stats(_rows(truth, p))[None] for p in (good, poor))
    tp = sum(len(set(t) & set(p)) for t, p in zip(truth, good, strict=True))
    wrong = sum(len(set(t) ^ set(p)) for t, p in zip(truth, good, strict=True))
    assert task.seed_values("micro_f1", a)[0] == pytest.approx(2 * tp / (2 * tp + wrong))
    c = task.compare("micro_f1", a, b)
    assert c["delta"] == pytest.approx(task.seed_values("micro_f1", a)[0] - task.seed_values("micro_f1", b)[0])
    assert c["delta_ci_low"] < c["delta"] < c["delta_ci_high"] and c["delta_ci_low"] > 0
    assert c["p_value"] < 0.001 and c["p_method"] == "paired sign-flip on per-document F1"
    assert task.compare("micro_f1", a, a)["p_value"] == 1.0


def test_single_label_comparison_is_mcnemar_on_correctness():
    task = task_for("single_label")
    labels = np.array([0, 1] * 50)
    right_a, right_b = np.arange(100) < 90, np.arange(100) < 80
    rows = [pd.DataFrame({"label": labels, "pred": np.where(r, labels, 1 - labels)}) for r in (right_a, right_b)]
    a, b = (task.document_stats(r)[None] for r in rows)
    c = task.compare("accuracy", a, b)
    assert c["delta"] == pytest.approx(0.1) and c["p_method"] == "exact McNemar"
    assert c["p_value"] == pytest.approx(stats.mcnemar_exact(10, 0))
    assert (c["better"], c["worse"]) == (10, 0)
