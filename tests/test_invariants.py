"""The invariants a benchmark lives on, checked end to end through `bench.run` / `bench.report` (not one function, so
that they hold whatever module the code moves to):

- the test split is touched once: no choice (epoch, decision threshold, hyper-parameter setting, early stop) reads
  test labels or scores. Each suite is run twice, once with its test labels poisoned; everything chosen must be the
  same in both records, and only the test metrics may differ;
- every p-value the report shows as adjusted is Holm's (tests/test_invariants_report.py);
- a tuning grid whose best point is not the first resolves to that point, in the trained record (here);
- every figure the report's prose states matches what was computed (tests/test_invariants_report.py).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

import bench
from bench.data.synthetic_multilabel import MultiLabelSpec, generate

SPEC = MultiLabelSpec(n_train=120, n_test=40, min_tokens=40, max_tokens=60, cue_length=3, n_labels=3, seed=1)
TINY = {"runner": "tiny-roberta-128", "hidden_size": 16, "num_layers": 1, "vocab_size": 200}
# what a run chooses before its one pass over test; the record must hold the same values whatever the test labels
CHOSEN = ("threshold", "best_epoch", "epochs_run", "n_train_split", "n_val")
EPOCH_TIMINGS = {"train_s", "eval_s", "wall_s", "epoch_s", "tokens_per_s", "samples_per_s", "kwh", "co2_kg"}


def write_multilabel_suite(folder: Path, runners: list, test_labels: dict[str, list[str]] | None = None) -> Path:
    """Generated multi-label train/test files and a suite reading them (2 epochs); `test_labels`: the label set of
    each test document by id, in place of the generated one (the poison)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        rows = list(generate(SPEC, split))
        if split == "test" and test_labels is not None:
            rows = [{**r, "labels": test_labels[r["id"]]} for r in rows]
        text = "".join(json.dumps(r) + "\n" for r in rows)
        (folder / f"{split}.jsonl.gz").write_bytes(gzip.compress(text.encode()))
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


def best_threshold_on(labels: list[list[str]], scores: list[dict[str, float]]) -> float:
    """The lowest grid threshold with the best micro-F1 of these label sets (computed here, with scikit-learn)."""
    from bench.tasks.multi_label_metrics import THRESHOLDS

    names = sorted(scores[0])
    true = np.array([[n in ls for n in names] for ls in labels])
    s = np.array([[d[n] for n in names] for d in scores])
    f1 = [f1_score(true, s >= t, average="micro", zero_division=0) for t in THRESHOLDS]
    return THRESHOLDS[int(np.argmax(f1))]


def poison(scores: list[dict[str, float]], chosen: float) -> dict[str, list[str]] | None:
    """Test labels on which a threshold chosen on test would differ from `chosen` (the validation one): the labels
    a model's own test scores predict at another grid threshold (each document keeps at least its top label)."""
    from bench.tasks.multi_label_metrics import THRESHOLDS

    for t in sorted(THRESHOLDS, key=lambda t: -abs(t - chosen)):
        labels = [[n for n, v in d.items() if v >= t] or [max(d, key=d.get)] for d in scores]
        if best_threshold_on(labels, scores) != chosen:
            return labels
    return None


def record(results: Path, runner: str) -> tuple[dict, pd.DataFrame]:
    runs = results / "ml" / "runs" / runner
    rec = json.loads((runs / "seed0.json").read_text())
    assert rec["status"] == "ok", rec.get("error")
    return rec, pd.read_csv(runs / "seed0.predictions.csv")


def choices(rec: dict) -> dict:
    """What the run chose, and every validation figure it chose on (per-epoch timings aside)."""
    epochs = [{k: v for k, v in e.items() if k not in EPOCH_TIMINGS} for e in rec.get("epochs") or []]
    return {"epochs": epochs, **{k: rec.get(k) for k in CHOSEN}}


def assert_test_touched_once(tmp_path_factory: pytest.TempPathFactory, runner: str | dict) -> None:
    """Run the suite; poison its test labels so that a threshold chosen on them differs from the one recorded; run
    again: everything chosen is the same, only the test metrics moved."""
    name = runner if isinstance(runner, str) else runner["runner"]
    clean_dir, poisoned_dir = tmp_path_factory.mktemp("clean"), tmp_path_factory.mktemp("poisoned")
    bench.run(write_multilabel_suite(clean_dir, [runner]), results=clean_dir / "results", reports=None)
    clean, predictions = record(clean_dir / "results", name)
    scores = [json.loads(s) for s in predictions["scores"]]
    labels = poison(scores, clean["threshold"])
    assert labels is not None, "no poison can move a test-chosen threshold: the model's scores are all alike"
    test_labels = dict(zip(predictions["id"], labels, strict=True))
    bench.run(
        write_multilabel_suite(poisoned_dir, [runner], test_labels), results=poisoned_dir / "results", reports=None
    )
    poisoned, again = record(poisoned_dir / "results", name)
    assert again["scores"].tolist() == predictions["scores"].tolist()  # the same model, scoring the same texts
    assert poisoned["micro_f1"] != clean["micro_f1"]  # the test labels were read, once, for the test metrics
    assert best_threshold_on(labels, scores) != clean["threshold"]  # choosing on test would show
    assert choices(poisoned) == choices(clean)


def test_tfidf_chooses_its_setting_and_threshold_without_test_labels(tmp_path_factory):
    assert_test_touched_once(tmp_path_factory, "tfidf-logreg")


@pytest.mark.slow
def test_the_trainer_chooses_its_epoch_and_threshold_without_test_labels(tmp_path_factory):
    assert_test_touched_once(tmp_path_factory, TINY)


# a grid whose best point is not the first: a few steps of the tiny model at 5e-3 end at a validation loss a little
# above the initial model's ln 2, which the two tiny learning rates keep (a tie goes to the first of them)
GRID = [5.0e-3, 2.0e-7, 1.0e-7]


@pytest.mark.slow
def test_a_grid_resolves_to_its_best_point_in_the_trained_record(tmp_path: Path):
    from tests.conftest import TINY_SUITE, write_suite

    text = TINY_SUITE.format(n_train=80, n_test=20, epochs=1).replace("name: tiny", "name: gridbest")
    text = text.replace(
        "eval_batch_size: 16}", "eval_batch_size: 16, validation_fraction: 0.25, metric_for_best_model: loss}"
    )
    suite = write_suite(tmp_path / "grid.yaml", text + f"tune: {{learning_rate: {GRID}}}\n")
    bench.run(suite, results=tmp_path / "results", reports=None)
    runs = tmp_path / "results" / "gridbest" / "runs" / "tiny-roberta-128"
    points = [json.loads((runs / "tune" / f"learning_rate={lr!r}" / "seed0.json").read_text()) for lr in GRID]
    losses = [p["epochs"][p["best_epoch"] - 1]["val_loss"] for p in points]
    best = int(np.argmin(losses))  # the lowest loss; the first in grid order among equals
    assert best != 0 and losses[0] > losses[best], losses  # the best point is not the first
    selected = json.loads((runs / "seed0.json").read_text())
    assert selected["status"] == "ok" and selected["accuracy"] is not None, selected.get("error")
    assert selected["tuned"] == {"learning_rate": GRID[best]}
    assert selected["config_key"]["protocol"]["learning_rate"] == GRID[best]
    assert selected["epochs"] == points[best]["epochs"]  # the model tested is the chosen point's, trained again
