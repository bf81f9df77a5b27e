"""The multi-label long-document suites (eurlex57k and its inverted twin, booksummaries, ecthr-a) load a generated
sample of their real data's shape through the real loader (--data-dir), with label sets, order and empty sets right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.data.load import load_suite_data
from bench.data.suite import load_suite
from bench.data.texts import PARAGRAPH_SEPARATOR
from bench.errors import BenchError
from tests import longdoc_samples


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("name", "inverted"), [("eurlex57k", False), ("eurlex57k-inverted", True)])
def test_eurlex57k_reads_its_section_order_and_concept_sets(tmp_path: Path, name: str, inverted: bool):
    folder = longdoc_samples.eurlex57k(tmp_path / "eurlex", n_train=30, n_test=8)
    data = load_suite_data(load_suite(name), data_dir=folder)
    assert data.task == "multilabel" and data.label_names == ("1309", "2771", "3191", "4256", "5451")
    # validation is the official dev split (4 documents in the sample), not a share of train
    assert [len(data.splits[s]) for s in ("train", "validation", "test")] == [30, 4, 8]
    test = {r["celex_id"]: r for r in _rows(folder / "test.jsonl")}
    for row in data.splits["test"]:
        source = test[row["id"]]  # celex_id is the document id
        paragraphs = source["text"].split("\n")
        assert row["text"] == "\n".join(paragraphs[::-1] if inverted else paragraphs)
        assert [data.label_names[i] for i in row["label"]] == source["concepts"]
    first = data.splits["test"][0]["text"]
    assert first.startswith("BODY") if inverted else first.startswith("HEADER")


def test_booksummaries_reads_genre_names(tmp_path: Path):
    folder = longdoc_samples.booksummaries(tmp_path / "books", n_train=30, n_test=8)
    data = load_suite_data(load_suite("booksummaries"), data_dir=folder)
    assert data.label_names == tuple(sorted(longdoc_samples.GENRES))
    assert len(data.splits["test"]) == 8 and set(data.splits["test"].column_names) == {"id", "text", "label"}
    by_id = {r["id"]: r for r in _rows(folder / "test.jsonl")}
    for row in data.splits["test"]:
        assert sorted(data.label_names[i] for i in row["label"]) == by_id[row["id"]]["genres"]


def test_ecthr_a_joins_paragraphs_names_articles_and_allows_no_violation(tmp_path: Path):
    import pyarrow.parquet as pq

    folder = longdoc_samples.ecthr_a(tmp_path / "ecthr", n_train=30, n_test=8)
    suite = load_suite("ecthr-a")
    data = load_suite_data(suite, data_dir=folder)
    assert data.label_names == ("2", "3", "5", "6", "8", "9", "10", "11", "14", "P1-1")
    assert [len(data.splits[s]) for s in ("train", "validation", "test")] == [30, 4, 8]  # LexGLUE's validation
    source = pq.read_table(folder / "test.parquet").to_pylist()
    got = data.splits["test"]
    for i, row in enumerate(got):
        assert row["text"] == PARAGRAPH_SEPARATOR.join(source[i]["text"])  # one document from its paragraphs
        assert row["label"] == source[i]["labels"]  # label ids are positions in data.labels
    assert [] in got["label"]  # a case that violates no article keeps its empty set


def test_ecthr_a_without_allow_empty_refuses_empty_sets(tmp_path: Path):
    folder = longdoc_samples.ecthr_a(tmp_path / "ecthr")
    suite = load_suite("ecthr-a", {"data.allow_empty_labels": False})
    with pytest.raises(BenchError, match="empty label set"):
        load_suite_data(suite, data_dir=folder)


@pytest.mark.parametrize("name", ["eurlex57k", "booksummaries"])
def test_local_only_suites_say_what_is_missing(tmp_path: Path, name: str):
    with pytest.raises(BenchError, match=r"train\.jsonl"):
        load_suite_data(load_suite(name), data_dir=tmp_path)


def test_local_only_suites_without_data_dir_ask_for_one():
    with pytest.raises(BenchError, match="pass --data-dir DIR"):
        load_suite_data(load_suite("booksummaries"))
