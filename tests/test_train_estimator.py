"""The scikit-learn protocol and the tfidf-logreg runner: same splits, metrics, record fields and predictions as the
transformer protocol; C chosen on validation; test touched once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.data import load_suite_data
from bench.data.suite import load_suite
from bench.errors import BenchError
from bench.results.schema import RunRecord
from bench.runners import EstimatorRunner, build_runner
from bench.train import estimator
from bench.train import trainer as protocol


def test_tfidf_matches_the_transformer_protocols_record(tiny_suite_file: Path, tmp_path: Path):
    suite = load_suite(str(tiny_suite_file))
    data = load_suite_data(suite)
    runner = build_runner("tfidf-logreg", {"c_grid": [0.01, 1.0, 100.0]})
    assert isinstance(runner, EstimatorRunner)
    metrics, predictions = estimator.train_and_evaluate(runner, data, suite.protocol, 0)

    ref = suite.runners[0]
    reference, reference_predictions = protocol.train_and_evaluate(
        build_runner(ref.runner, ref.params), data, suite.protocol, 0, tmp_path / "run"
    )
    # both are record fields (RunRecord refuses any other); what a fit cannot measure is left to the record: None
    reference.pop("earlier_wall_s")  # the job adds it to its own wall time
    record, reference_record = RunRecord(**metrics).to_dict(), RunRecord(**reference).to_dict()
    assert set(record) == set(reference_record)
    for name in ("train_tokens_per_s", "peak_gpu_mem_mb", "micro_batch_size", "throughput_warmup_steps"):
        assert name not in metrics and record[name] is None
    assert set(predictions[0]) == set(reference_predictions[0]) == {"id", "label", "pred", "score", "n_tokens"}
    assert [p["id"] for p in predictions] == list(data.splits["test"]["id"])
    assert metrics["accuracy"] == pytest.approx(np.mean([p["pred"] == p["label"] for p in predictions]))

    # one "epoch" per C, the best chosen on validation accuracy (the first among equals)
    val = [e["val_accuracy"] for e in metrics["epochs"]]
    assert [e["C"] for e in metrics["epochs"]] == [0.01, 1.0, 100.0] and metrics["n_epochs"] == 3
    assert metrics["best_epoch"] == 1 + int(np.argmax(val))
    assert metrics["selected_params"] == {"C": metrics["epochs"][metrics["best_epoch"] - 1]["C"]}
    assert metrics["accuracy"] >= 0.9  # the cue words are a perfect bag-of-words signal

    assert record["peak_gpu_mem_mb"] is None and record["gpu_name"] is None
    assert record["train_tokens_per_s"] is None and metrics["peak_cpu_rss_mb"] > 0
    assert metrics["train_samples_per_s"] > 0 and metrics["eval_samples_per_s"] > 0
    assert metrics["n_params"] == metrics["n_features"] + 1
    assert metrics["n_train_split"] == data.n_train_split == metrics["n_train"] + metrics["n_val"]  # no --limit
    assert all(40 <= p["n_tokens"] <= 80 for p in predictions)  # the documents' words
    assert all(0.5 <= p["score"] <= 1 for p in predictions)


def test_estimator_protocol_predicts_test_once_with_the_setting_chosen_on_validation(tiny_suite_file: Path):
    suite = load_suite(str(tiny_suite_file))
    data = load_suite_data(suite)
    calls: list[tuple[float, int]] = []

    class Spy:
        def __init__(self, c: float) -> None:
            from sklearn.linear_model import LogisticRegression

            self.c, self.model = c, LogisticRegression(C=c, solver="liblinear")

        def fit(self, x, y):
            self.model.fit(x, y)
            self.coef_, self.intercept_ = self.model.coef_, self.model.intercept_
            return self

        def predict_proba(self, x):
            calls.append((self.c, x.shape[0]))
            # C = 2 is the best on validation by construction: it alone predicts the validation labels right
            if x.shape[0] == len(data.splits["validation"]):
                truth = np.asarray(data.splits["validation"]["label"])
                return np.eye(2)[truth if self.c == 2.0 else 1 - truth]
            return self.model.predict_proba(x)

    class SpyRunner(type(build_runner("tfidf-logreg"))):
        def build_classifiers(self, seed, n_labels):
            return [({"C": c}, Spy(c)) for c in self.c_grid]

    runner = SpyRunner(c_grid=(1.0, 2.0, 3.0))
    metrics, _ = estimator.train_and_evaluate(runner, data, suite.protocol, 0)
    assert metrics["best_epoch"] == 2 and metrics["selected_params"] == {"C": 2.0}
    n_test = len(data.splits["test"])
    assert [c for c in calls if c[1] == n_test] == [(2.0, n_test)]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"c_grid": []}, "c_grid must be a non-empty list of positive numbers"),
        ({"c_grid": [1, -2]}, "c_grid must be a non-empty list of positive numbers"),
        ({"ngram_max": 0}, "ngram_max must be a positive integer"),
        ({"min_df": 1.5}, "min_df must be a positive integer"),
    ],
)
def test_bad_tfidf_parameters_are_refused(params: dict, match: str):
    with pytest.raises(BenchError, match=match):
        build_runner("tfidf-logreg", params)


@pytest.mark.slow
def test_tfidf_on_a_slice_of_real_imdb(imdb_dir: Path):
    suite = load_suite("imdb")
    data = load_suite_data(suite, imdb_dir, limit=2000)
    metrics, _ = estimator.train_and_evaluate(build_runner("tfidf-logreg"), data, suite.protocol, 0)
    assert metrics["accuracy"] >= 0.82  # 0.90+ with all 22,500 training reviews (see docs/runners.md)


@pytest.mark.slow
def test_the_worker_runs_estimators_under_their_protocol(tiny_suite_file: Path, tmp_path: Path):
    from bench.launch.options import RunOptions
    from bench.launch.sweep import plan, run_jobs

    suite = load_suite(str(tiny_suite_file))
    the_plan = plan(suite, RunOptions(results=tmp_path / "results", runners=["tfidf-logreg"]))
    (record,) = run_jobs(the_plan)
    assert record.status == "ok", record.error
    assert record.truncation == "none" and record.max_length is None and record.model_family == "tfidf-logreg"
    saved = json.loads(the_plan.jobs[0].record_path.read_text())
    assert saved["config"]["runner"]["c_grid"] == [1.0, 4.0, 16.0, 64.0] and saved["peak_gpu_mem_mb"] is None
    header = the_plan.jobs[0].record_path.with_name("seed0.predictions.csv").read_text().splitlines()[0]
    assert header == "id,label,pred,score,n_tokens"
