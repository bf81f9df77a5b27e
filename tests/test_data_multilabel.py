"""Multi-label suites' data layer: the generator, the suite keys, loading label lists, and the one-line errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.config import to_dict
from bench.data import load_suite_data
from bench.data.suite import load_suite, suite_from_dict
from bench.data.synthetic_multilabel import MultiLabelSpec, generate, visible_fraction
from bench.errors import BenchError
from bench.results.key import configuration_key
from bench.tasks.multi_label_labels import multi_hot

SMALL = MultiLabelSpec(n_train=60, n_test=30, min_tokens=150, max_tokens=300, cue_length=8, n_labels=4)


def write_split(path: Path, rows: list[dict]) -> None:
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))


def user_suite(tmp_path: Path, train: list[dict], test: list[dict], data_extra: str = "", protocol: str = "") -> Path:
    """A user suite file reading train/test jsonl.gz files of multi-label rows from `tmp_path`."""
    write_split(tmp_path / "train.jsonl.gz", train)
    write_split(tmp_path / "test.jsonl.gz", test)
    path = tmp_path / "ml.yaml"
    path.write_text(
        "name: ml\n"
        "data: {source: files, files: {train: train.jsonl.gz, test: test.jsonl.gz}, task: multilabel, "
        f"label_column: labels{data_extra}}}\n"
        "runners: [tfidf-logreg]\n"
        f"protocol: {{epochs: 1, batch_size: 4, per_device_batch_size: 4{protocol}}}\n"
    )
    return path


def test_generator_is_deterministic_and_cues_decide_the_labels():
    rows = generate(SMALL, "train")
    assert rows == generate(SMALL, "train") and rows != generate(SMALL, "test")
    cues = SMALL.cue_words()
    all_cues = {w for words in cues.values() for w in words}
    for row in rows:
        words = row["text"].split()
        assert SMALL.min_tokens <= len(words) <= SMALL.max_tokens
        assert row["labels"] and row["labels"] == sorted(row["labels"], key=SMALL.label_names.index)
        for label, start in zip(row["labels"], row["cue_starts"], strict=True):
            assert set(words[start : start + SMALL.cue_length]) <= set(cues[label])
        # no cue word of an absent label anywhere, and cue words only inside passages
        in_passages = sum(w in all_cues for w in words)
        assert in_passages == len(row["labels"]) * SMALL.cue_length
    assert len({len(r["labels"]) for r in rows}) > 1  # documents carry different numbers of labels


def test_a_head_truncation_misses_late_cues_predictably():
    rows = generate(SMALL, "test")
    assert visible_fraction(rows, SMALL.max_tokens) == 1.0
    at_64 = visible_fraction(rows, 64)
    assert 0 < at_64 < visible_fraction(rows, 128) < 1  # roughly C / mean length of the documents
    late = [(r, s) for r in rows for s in r["cue_starts"] if s >= 64]
    assert late and all(s >= 64 for _, s in late)


def test_allow_empty_generates_documents_without_labels():
    spec = MultiLabelSpec(n_train=80, n_test=10, min_tokens=100, max_tokens=120, cue_length=8, label_probability=0.2,
                          allow_empty=True)  # fmt: skip
    assert any(not r["labels"] for r in generate(spec, "train"))
    with pytest.raises(BenchError, match="label_probability"):
        MultiLabelSpec(label_probability=1.5)


def test_a_user_suite_loads_label_sets_as_sorted_ids(tmp_path: Path):
    suite = load_suite(user_suite(tmp_path, generate(SMALL, "train"), generate(SMALL, "test")))
    assert suite.data.task == "multilabel" and suite.protocol.metric_for_best_model == "micro_f1"
    data = load_suite_data(suite)
    assert data.task == "multilabel" and data.label_names == ("music", "politics", "science", "sports")  # sorted union
    assert data.positive_label is None
    splits = data.splits
    assert (len(splits["train"]) + len(splits["validation"]), len(splits["test"])) == (60, 30)
    by_id = {r["id"]: r for r in generate(SMALL, "test")}
    for row in splits["test"]:
        names = [data.label_names[i] for i in row["label"]]
        assert row["label"] == sorted(row["label"]) and sorted(names) == sorted(by_id[row["id"]]["labels"])
    matrix = multi_hot(splits["test"]["label"], len(data.label_names))
    assert matrix.shape == (30, 4) and matrix.sum() == sum(len(r["labels"]) for r in by_id.values())


def test_data_labels_fix_the_order_and_name_integer_ids(tmp_path: Path):
    train = [{"text": f"doc {i}", "labels": [i % 3, (i + 1) % 3]} for i in range(30)]
    test = [{"text": f"doc {i}", "labels": [i % 3]} for i in range(10)]
    suite = load_suite(user_suite(tmp_path, train, test, ", labels: [zero, one, two]"))
    data = load_suite_data(suite)
    assert data.label_names == ("zero", "one", "two")
    assert sorted(map(tuple, data.splits["test"]["label"])) == sorted((i % 3,) for i in range(10))


def test_the_label_order_is_part_of_the_configuration_key_and_single_label_keys_are_unchanged(tmp_path: Path):
    base = {"name": "s", "data": {"source": "synthetic"}, "runners": ["tfidf-logreg"]}
    single = configuration_key(to_dict(suite_from_dict(base)), {"class": "X"}, None)
    assert "task" not in single["data"] and "labels" not in single["data"]
    ml = {**base, "data": {"source": "synthetic", "task": "multilabel", "labels": ["a", "b"]}}
    key_ab = configuration_key(to_dict(suite_from_dict(ml)), {"class": "X"}, None)
    ml["data"]["labels"] = ["b", "a"]
    key_ba = configuration_key(to_dict(suite_from_dict(ml)), {"class": "X"}, None)
    assert key_ab["data"]["task"] == "multilabel" and key_ab["data"]["labels"] == ["a", "b"] and key_ab != key_ba


@pytest.mark.parametrize(
    ("data", "protocol", "message"),
    [
        ({"task": "multi"}, {}, "task must be one of multilabel, single_label"),
        ({"task": "multilabel", "label_names": ["a", "b"]}, {}, "label_names is for single-label suites"),
        ({"labels": ["a", "b"]}, {}, "labels and allow_empty_labels are for task: multilabel"),
        ({"task": "multilabel", "labels": ["a", "a"]}, {}, "labels lists a more than once"),
        ({"task": "multilabel"}, {"metric_for_best_model": "accuracy"}, "not a multilabel metric"),
        ({}, {"metric_for_best_model": "micro_f1"}, "not a single_label metric"),
    ],
)
def test_bad_multilabel_settings_are_refused(data: dict, protocol: dict, message: str):
    raw = {"name": "s", "data": {"source": "synthetic", **data}, "runners": ["tfidf-logreg"], "protocol": protocol}
    with pytest.raises(BenchError, match=message):
        suite_from_dict(raw)


TRAIN = [{"text": f"doc {i}", "labels": [["a"], ["b"], ["a", "b"]][i % 3]} for i in range(30)]
TEST = [{"text": f"doc {i}", "labels": [["a"], ["b"]][i % 2]} for i in range(10)]


@pytest.mark.parametrize(
    ("train", "test", "extra", "message"),
    [
        ([{**r, "labels": "a"} for r in TRAIN], TEST, "", "train label column 'labels' holds string values, not lists"),
        (TRAIN, [{**r, "labels": []} if i == 2 else r for i, r in enumerate(TEST)], "",
         "1 test document(s) have an empty label set (row(s) 3)"),
        (TRAIN, TEST, ", labels: [a, x]", "train labels ['b'] are not in data.labels ['a', 'x']"),
    ],
)  # fmt: skip
def test_bad_label_lists_are_one_line_with_exit_code_2(
    tmp_path: Path, capsys, monkeypatch, train: list, test: list, extra: str, message: str
):
    monkeypatch.chdir(tmp_path)
    suite = user_suite(tmp_path, train, test, extra)
    capsys.readouterr()
    code = main(["run", "--suite", str(suite), "--results", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("bench: error: "), err
    assert message in err, err
    assert not (tmp_path / "results").exists()


def test_labels_only_in_test_are_scored_not_refused(tmp_path: Path):
    """EURLEX57K has 163 concepts that occur only in dev/test; its authors score them, as misses where a model
    never predicts them. They stay in the label space (with a note saying how many), not a refusal."""
    from bench.runners import build_runner
    from bench.train import estimator

    test = [{**r, "labels": ["a", "c"]} if i == 0 else r for i, r in enumerate(TEST)]
    suite = load_suite(user_suite(tmp_path, TRAIN, test))
    data = load_suite_data(suite)
    assert data.label_names == ("a", "b", "c")
    assert data.notes == (
        "1 of the 3 labels occur in test but never in train (e.g. c): they are scored, as misses wherever they are "
        "not predicted",
    )
    metrics, rows = estimator.train_and_evaluate(build_runner("tfidf-logreg"), data, suite.protocol, 0)
    assert metrics["per_label"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics["micro_recall"] < 1.0  # the (document, c) pair is a miss, counted
    assert any("c" in json.loads(r["labels"]) for r in rows)


def test_empty_label_sets_load_where_the_suite_allows_them(tmp_path: Path):
    test = [{**r, "labels": []} if i == 2 else r for i, r in enumerate(TEST)]
    data = load_suite_data(load_suite(user_suite(tmp_path, TRAIN, test, ", allow_empty_labels: true")))
    assert sum(1 for row in data.splits["test"]["label"] if not row) == 1


def test_a_synthetic_multilabel_suite_needs_no_label_column(tmp_path: Path):
    spec = {"n_train": 40, "n_test": 10, "min_tokens": 60, "max_tokens": 80, "cue_length": 8, "n_labels": 3}
    raw = {"name": "s", "data": {"source": "synthetic", "task": "multilabel", "synthetic": spec},
           "runners": ["tfidf-logreg"]}  # fmt: skip
    data = load_suite_data(suite_from_dict(raw))
    assert data.label_names == ("politics", "science", "sports")  # sorted union of the generator's first three
    assert all(ids for ids in data.splits["test"]["label"])
