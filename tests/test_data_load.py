"""load_suite_data: every input format, label encoding, the validation split, `limit`, and the data errors."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from bench.config import DataConfig, RunnerRef, SuiteConfig
from bench.data import load_suite_data
from bench.data.suite import load_suite
from bench.errors import BenchError


def make_suite(**data: object) -> SuiteConfig:
    """A suite whose data comes from --data-dir (a hub source that is never contacted once a data dir is given)."""
    data = {"source": "hub", "path": "nobody/nothing"} | data
    return SuiteConfig(name="t", data=DataConfig(**data), runners=(RunnerRef("tiny-roberta-128"),))


def rows(n: int, labels: list, text_key: str = "text", label_key: str = "label") -> list[dict]:
    """n rows cycling through `labels`, each text naming its row and label."""
    return [
        {text_key: f"document {i} about {labels[i % len(labels)]}", label_key: labels[i % len(labels)]}
        for i in range(n)
    ]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_table(path: Path, records: list[dict]) -> Path:
    frame = pd.DataFrame(records)
    frame.to_parquet(path, index=False) if path.suffix == ".parquet" else frame.to_csv(path, index=False)
    return path


def data_dir(tmp_path: Path, ext: str, train: list[dict], test: list[dict]) -> Path:
    folder = tmp_path / f"data-{ext.replace('.', '-')}"
    folder.mkdir()
    write = write_jsonl if ext.startswith("json") else write_table
    write(folder / f"train.{ext}", train)
    write(folder / f"test.{ext}", test)
    return folder


@pytest.mark.parametrize("ext", ["jsonl", "jsonl.gz", "csv", "parquet"])
def test_each_file_format_loads_into_three_splits(tmp_path: Path, ext: str):
    folder = data_dir(tmp_path, ext, rows(100, [0, 1]), rows(40, [0, 1]))
    data = load_suite_data(make_suite(label_names=("neg", "pos")), folder)
    splits = data.splits
    assert list(splits) == ["train", "validation", "test"]
    assert (len(splits["train"]), len(splits["validation"]), len(splits["test"])) == (90, 10, 40)
    for split in splits.values():
        assert set(split.column_names) == {"id", "text", "label"}
        assert split.features["label"].names == ["neg", "pos"]
    assert data.label_names == ("neg", "pos")
    # ids are made up per split where the files have none, and labels keep their documents
    assert sorted(splits["test"]["id"]) == sorted(f"test-{i}" for i in range(40))
    for row in splits["train"]:
        index = int(row["id"].removeprefix("train-"))
        assert row["text"] == f"document {index} about {index % 2}" and row["label"] == index % 2


def test_files_named_in_the_suite_resolve_against_the_suite_file(tmp_path: Path):
    write_jsonl(tmp_path / "a.jsonl", rows(40, ["x", "y"]))
    write_jsonl(tmp_path / "b.jsonl", rows(10, ["x", "y"]))
    suite = make_suite(source="files", files={"train": "a.jsonl", "test": "b.jsonl"})
    data = load_suite_data(suite.replace(source_file=str(tmp_path / "suite.yaml")))
    assert (len(data.splits["train"]) + len(data.splits["validation"]), len(data.splits["test"])) == (40, 10)


def test_acl_imdb_folders(tmp_path: Path):
    root = tmp_path / "aclImdb"
    for split, n in (("train", 20), ("test", 6)):
        for label in ("pos", "neg"):
            (root / split / label).mkdir(parents=True)
            for i in range(n):
                (root / split / label / f"{i}_{7 if label == 'pos' else 2}.txt").write_text(f"{label} review {i}")
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("unlabelled")

    data = load_suite_data(make_suite(), root)
    assert data.label_names == ("neg", "pos")  # folder names, sorted
    train = data.splits["train"].to_list() + data.splits["validation"].to_list()
    assert len(train) == 40 and len(data.splits["test"]) == 12
    for row in train + data.splits["test"].to_list():
        folder = row["id"].split("/")[0]
        assert row["text"].startswith(folder)
        assert row["label"] == {"neg": 0, "pos": 1}[folder]
    assert Counter(r["label"] for r in train) == {0: 20, 1: 20}


def test_string_labels_become_sorted_ids(tmp_path: Path):
    folder = data_dir(tmp_path, "jsonl", rows(60, ["spam", "ham", "eggs"]), rows(12, ["ham", "spam", "eggs"]))
    data = load_suite_data(make_suite(), folder)
    assert data.label_names == ("eggs", "ham", "spam")
    for split in data.splits.values():
        assert split.features["label"].names == ["eggs", "ham", "spam"]
        for row in split:
            assert row["text"].endswith(data.label_names[row["label"]])


def test_suite_label_names_fix_the_order_of_string_labels(tmp_path: Path):
    folder = data_dir(tmp_path, "jsonl", rows(40, ["pos", "neg"]), rows(10, ["pos", "neg"]))
    data = load_suite_data(make_suite(label_names=("pos", "neg")), folder)
    assert data.label_names == ("pos", "neg")
    assert all(row["text"].endswith(data.label_names[row["label"]]) for row in data.splits["test"])


def test_other_column_names(tmp_path: Path):
    folder = data_dir(tmp_path, "csv", rows(40, [0, 1], "body", "stars"), rows(10, [0, 1], "body", "stars"))
    data = load_suite_data(make_suite(text_column="body", label_column="stars"), folder)
    assert data.label_names == ("0", "1")
    assert set(data.splits["train"].column_names) == {"id", "text", "label"}


def test_validation_split_is_stratified_and_the_same_every_time(tmp_path: Path):
    labels = [0] * 3 + [1] * 2  # 60% / 40%
    folder = data_dir(tmp_path, "jsonl", rows(200, labels), rows(20, [0, 1]))
    first = load_suite_data(make_suite(), folder)
    second = load_suite_data(make_suite(), folder)
    validation = first.splits["validation"]
    assert len(validation) == 20 and len(first.splits["train"]) == 180
    assert Counter(validation["label"]) == {0: 12, 1: 8}
    assert validation["id"] == second.splits["validation"]["id"]
    assert first.splits["train"]["id"] == second.splits["train"]["id"]
    assert not set(validation["id"]) & set(first.splits["train"]["id"])


def test_limit_caps_train_and_scales_test(tmp_path: Path):
    folder = data_dir(tmp_path, "jsonl", rows(200, [0, 1]), rows(80, [0, 1]))
    data = load_suite_data(make_suite(), folder, limit=50)
    assert len(data.splits["train"]) + len(data.splits["validation"]) == 50
    assert len(data.splits["validation"]) == 5
    assert len(data.splits["test"]) == 20  # 80 * 50 / 200
    assert data.n_train_split == 200  # the size before --limit: the report scales training time by it
    again = load_suite_data(make_suite(), folder, limit=50)
    assert data.splits["test"]["id"] == again.splits["test"]["id"]


def test_limit_above_the_data_size_keeps_everything(tmp_path: Path):
    folder = data_dir(tmp_path, "jsonl", rows(40, [0, 1]), rows(10, [0, 1]))
    data = load_suite_data(make_suite(), folder, limit=1000)
    assert len(data.splits["train"]) + len(data.splits["validation"]) == 40 and len(data.splits["test"]) == 10
    assert data.n_train_split == 40


@pytest.mark.parametrize(("column", "setting"), [("body", "text_column"), ("stars", "label_column")])
def test_missing_column_is_named(tmp_path: Path, column: str, setting: str):
    folder = data_dir(tmp_path, "jsonl", rows(40, [0, 1]), rows(10, [0, 1]))
    with pytest.raises(BenchError) as info:
        load_suite_data(make_suite(**{setting: column}), folder)
    message = str(info.value)
    assert f"train data has no column '{column}' (columns: text, label)" in message
    assert f"set data.{setting} in the suite file" in message  # the one setting to fix, named


def test_single_class_training_data(tmp_path: Path):
    folder = data_dir(tmp_path, "jsonl", rows(40, ["pos"]), rows(10, ["pos", "neg"]))
    with pytest.raises(BenchError, match=r"has only one class \('pos'\); a classifier needs at least two"):
        load_suite_data(make_suite(), folder)


def test_too_few_rows_for_a_stratified_split(tmp_path: Path):
    folder = data_dir(tmp_path, "jsonl", rows(4, [0, 1]), rows(4, [0, 1]))
    with pytest.raises(BenchError, match=r"cannot carve a stratified 10% validation split from 4 training documents"):
        load_suite_data(make_suite(), folder)


def test_missing_data_dir(tmp_path: Path):
    with pytest.raises(BenchError, match=r"--data-dir .*nowhere is not a directory"):
        load_suite_data(make_suite(), tmp_path / "nowhere")


def test_data_dir_without_a_test_split(tmp_path: Path):
    write_jsonl(tmp_path / "train.jsonl", rows(40, [0, 1]))
    with pytest.raises(BenchError, match=r"no 'test' data in .*: expected test\.jsonl"):
        load_suite_data(make_suite(), tmp_path)


def test_labels_outside_label_names(tmp_path: Path):
    folder = data_dir(tmp_path, "jsonl", rows(40, [0, 1, 2]), rows(10, [0, 1]))
    with pytest.raises(BenchError, match=r"labels \[2\] are outside 0\.\.1"):
        load_suite_data(make_suite(label_names=("neg", "pos")), folder)


def test_real_imdb_copy_with_the_builtin_suite(imdb_dir: Path):
    data = load_suite_data(load_suite("imdb"), imdb_dir, limit=600)
    splits = data.splits
    assert (len(splits["train"]), len(splits["validation"]), len(splits["test"])) == (540, 60, 600)
    assert data.label_names == ("neg", "pos")
    for name in ("train", "validation", "test"):
        assert set(splits[name]["label"]) == {0, 1}, name
    assert all(isinstance(t, str) and t for t in splits["validation"]["text"])


def test_the_positive_class_defaults_to_the_second_label_and_can_be_named(tmp_path: Path):
    folder = data_dir(tmp_path, "jsonl", rows(40, ["true", "false"]), rows(10, ["true", "false"]))
    default = load_suite_data(make_suite(), folder)
    assert default.label_names == ("false", "true") and default.positive_label == "true" and default.positive_id == 1
    named = load_suite_data(make_suite(positive_label="false"), folder)
    assert named.positive_label == "false" and named.positive_id == 0


def test_a_positive_label_that_is_not_a_class_is_one_line(tmp_path: Path):
    folder = data_dir(tmp_path, "jsonl", rows(40, ["pos", "neg"]), rows(10, ["pos", "neg"]))
    with pytest.raises(
        BenchError, match=r"data.positive_label 'hyperpartisan' is not a class of the data \(neg, pos\)"
    ):
        load_suite_data(make_suite(positive_label="hyperpartisan"), folder)
    three = data_dir(tmp_path, "json", rows(60, ["a", "b", "c"]), rows(12, ["a", "b", "c"]))
    with pytest.raises(BenchError, match="macro-averaged"):
        load_suite_data(make_suite(positive_label="a"), three)
    assert load_suite_data(make_suite(), three).positive_label is None
