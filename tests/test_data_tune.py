"""A suite's `tune:` grid: which settings it may name, its points in grid order, and how a point is selected."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.config import ProtocolConfig
from bench.data.suite import load_suite
from bench.data.tune import parse_grid, points, select, tunable, validation_score
from bench.errors import BenchError
from bench.results.store import ResultStore, RunKey, point_name
from tests.conftest import TINY_SUITE, write_suite


def test_a_grid_is_the_cartesian_product_in_grid_order():
    grid = parse_grid("suite", {"learning_rate": [1e-5, 2e-5], "epochs": [1, 3]}, ProtocolConfig())
    assert points(grid) == [
        {"learning_rate": 1e-5, "epochs": 1},
        {"learning_rate": 1e-5, "epochs": 3},
        {"learning_rate": 2e-5, "epochs": 1},
        {"learning_rate": 2e-5, "epochs": 3},
    ]
    assert parse_grid("suite", None, ProtocolConfig()) == {} and parse_grid("suite", {}, ProtocolConfig()) == {}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"learning_rte": [1e-5]}, "'learning_rte' is not a tunable protocol setting; tunable: batch_size, epochs"),
        ({"per_device_batch_size": [4, 8]}, "'per_device_batch_size' is not a tunable"),  # changes no result
        ({"metric_for_best_model": ["f1"]}, "'metric_for_best_model' is not a tunable"),  # what selection reads
        ({"learning_rate": []}, "learning_rate must be a non-empty list of values"),
        ({"learning_rate": 2e-5}, "learning_rate must be a non-empty list of values"),
        ({"learning_rate": [1e-5, 1e-5]}, "lists a value twice"),
        ({"learning_rate": [1e-5, -1]}, "tune point {'learning_rate': -1}: protocol: learning_rate must be positive"),
        ([1e-5], "'tune' must map protocol settings to lists of values"),
    ],
)
def test_a_bad_grid_is_refused_in_one_line_naming_the_tunable_settings(raw, says):
    with pytest.raises(BenchError) as err:
        parse_grid("suite x", raw, ProtocolConfig())
    message = str(err.value)
    assert "\n" not in message and message.startswith("suite x: ")
    assert says.replace("must be positive", "must be a positive number") in message
    if "tunable" in says:
        assert ", ".join(tunable()) in message


def test_a_suite_file_reads_its_grid_and_overrides_can_set_one(tmp_path: Path):
    text = TINY_SUITE.format(n_train=60, n_test=20, epochs=1)
    plain = load_suite(write_suite(tmp_path / "plain.yaml", text))
    assert plain.tune == {}
    tuned = load_suite(write_suite(tmp_path / "t.yaml", text + "tune: {learning_rate: [1e-5, 2e-5]}\n"))
    assert tuned.tune == {"learning_rate": (1e-5, 2e-5)}  # YAML 1.2 numbers: 1e-5 is a float
    overridden = load_suite(tmp_path / "plain.yaml", {"tune.weight_decay": [0.0, 0.1]})
    assert overridden.tune == {"weight_decay": (0.0, 0.1)}
    with pytest.raises(BenchError, match="tune: 'epoch' is not a tunable protocol setting"):
        load_suite(tmp_path / "plain.yaml", {"tune.epoch": [1]})


def test_selection_takes_the_best_validation_score_and_the_first_of_a_tie():
    assert select([0.5, 0.7, 0.7, 0.6], "accuracy") == 1
    assert select([0.4, 0.3, 0.3], "loss") == 1  # lower is better for loss
    assert select([None, 0.2], "f1") == 1 and select([None, None], "f1") is None
    epochs = [{"epoch": 1, "val_accuracy": 0.5}, {"epoch": 2, "val_accuracy": 0.75}]
    assert validation_score(epochs, 2, "accuracy") == 0.75 and validation_score(epochs, 2, "f1") is None
    assert validation_score(epochs, 1, "accuracy") == 0.5  # the kept epoch's, not the last


def test_a_grid_point_has_its_own_files_under_the_runner_and_is_not_a_suite_run(tmp_path: Path):
    store = ResultStore(tmp_path)
    name = point_name({"learning_rate": 2e-5, "epochs": 3})
    assert name == "epochs=3,learning_rate=2e-05" and point_name({"learning_rate": 0.00002}) == "learning_rate=2e-05"
    key = RunKey("s", "r", 0, name)
    assert store.record_path(key) == tmp_path / "s" / "runs" / "r" / "tune" / name / "seed0.json"
    assert key.label == f"r/{name}/seed0" and "/" not in key.slug and "=" not in key.slug
    store.record_path(key).parent.mkdir(parents=True)
    store.record_path(key).write_text('{"suite": "s", "runner": "r", "seed": 0, "status": "ok"}')
    assert store.keys("s") == []  # the suite's runs are its own: a point never shows as one
    with pytest.raises(BenchError, match="tuning point"):
        RunKey("s", "r", 0, "a/b")
