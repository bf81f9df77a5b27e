"""The synthetic generator behind the demo suite, and the expected-accuracy formula its description quotes."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from bench.data.suite import load_suite
from bench.data.synthetic import (
    NEGATIVE_CUES,
    POSITIVE_CUES,
    SyntheticSpec,
    expected_accuracy,
    filler_words,
    generate,
    write_files,
)
from bench.errors import BenchError

SMALL = SyntheticSpec(n_train=200, n_test=60, min_tokens=40, max_tokens=90, cue_length=6, filler_vocab=50, seed=3)
# Many short documents, so a Monte-Carlo estimate is tight (standard error ~0.005) and generation stays fast.
MONTE_CARLO = SyntheticSpec(n_train=4000, n_test=2, min_tokens=100, max_tokens=300, cue_length=8, filler_vocab=40)
CUES = {0: set(NEGATIVE_CUES), 1: set(POSITIVE_CUES)}


def cue_start(words: list[str]) -> int:
    return next(i for i, w in enumerate(words) if w in CUES[0] | CUES[1])


def test_generation_is_deterministic():
    assert generate(SMALL, "train") == generate(SMALL, "train")
    assert generate(SMALL, "train") != generate(SyntheticSpec(**{**vars(SMALL), "seed": 4}), "train")
    train_texts = {r["text"] for r in generate(SMALL, "train")}
    assert not train_texts & {r["text"] for r in generate(SMALL, "test")}  # independent streams


@pytest.mark.parametrize(("split", "n"), [("train", 200), ("test", 60)])
def test_splits_are_balanced_with_unique_ids(split: str, n: int):
    rows = generate(SMALL, split)
    assert len(rows) == n
    assert sum(r["label"] for r in rows) == n // 2
    assert len({r["id"] for r in rows}) == n and all(r["id"].startswith(f"{split}-") for r in rows)
    assert [r["label"] for r in rows] != [i % 2 for i in range(n)]  # shuffled, not alternating


def test_each_document_has_one_cue_passage_of_its_own_label():
    filler = set(filler_words(SMALL.filler_vocab))
    for row in generate(SMALL, "train") + generate(SMALL, "test"):
        words = row["text"].split(" ")
        assert SMALL.min_tokens <= len(words) <= SMALL.max_tokens
        cue_positions = [i for i, w in enumerate(words) if w in CUES[0] | CUES[1]]
        start = cue_positions[0]
        assert cue_positions == list(range(start, start + SMALL.cue_length)), row["id"]
        assert {words[i] for i in cue_positions} <= CUES[row["label"]]
        assert all(w in filler for i, w in enumerate(words) if i not in cue_positions)


def test_filler_words_are_distinct_and_never_cues():
    words = filler_words(400)
    assert len(set(words)) == 400
    assert filler_words(10) == words[:10]  # a fixed order, so a smaller vocabulary is a prefix
    assert not set(words) & (CUES[0] | CUES[1])


def test_write_files_is_byte_stable_and_reused(tmp_path: Path):
    first = write_files(SMALL, tmp_path / "a")
    second = write_files(SMALL, tmp_path / "b")
    assert set(first) == {"train", "test"}
    for split in first:
        assert first[split].read_bytes() == second[split].read_bytes()
        lines = gzip.decompress(first[split].read_bytes()).decode().splitlines()
        assert [json.loads(line) for line in lines] == generate(SMALL, split)
    stamp = first["train"].stat().st_mtime_ns
    assert write_files(SMALL, tmp_path / "a") == first and first["train"].stat().st_mtime_ns == stamp


@pytest.fixture(scope="module")
def cue_starts() -> list[int]:
    return [cue_start(r["text"].split(" ")) for r in generate(MONTE_CARLO, "train")]


@pytest.mark.parametrize("content_tokens", [30, 100, 150, 250])
def test_expected_accuracy_matches_a_monte_carlo_estimate(cue_starts: list[int], content_tokens: int):
    seen = sum(start < content_tokens for start in cue_starts) / len(cue_starts)
    assert expected_accuracy(MONTE_CARLO, content_tokens) == pytest.approx(0.5 + 0.5 * seen, abs=0.03)


def test_expected_accuracy_bounds():
    spec = MONTE_CARLO
    assert expected_accuracy(spec, spec.max_tokens) == 1.0
    assert expected_accuracy(spec, 10 * spec.max_tokens) == 1.0
    assert expected_accuracy(spec, spec.max_tokens - spec.cue_length + 1) == 1.0  # every cue starts before this
    assert expected_accuracy(spec, spec.max_tokens - spec.cue_length) < 1.0
    assert expected_accuracy(spec, 0) == 0.5
    values = [expected_accuracy(spec, c) for c in range(0, 320, 20)]
    assert values == sorted(values)


def test_demo_expected_accuracy_matches_the_closed_form():
    spec = SyntheticSpec(**load_suite("demo").data.synthetic)
    a, b, k, c = spec.min_tokens, spec.max_tokens, spec.cue_length, 510
    closed_form = 0.5 + c / (2 * (b - a)) * math.log((b - k + 1) / (a - k + 1))
    assert expected_accuracy(spec, c) == pytest.approx(closed_form, abs=0.01)
    assert expected_accuracy(spec, c) == pytest.approx(0.819, abs=0.001)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"n_train": 0}, "n_train must be a positive integer"),
        ({"cue_length": 1.5}, "cue_length must be a positive integer"),
        ({"max_tokens": True}, "max_tokens must be a positive integer"),
        ({"cue_length": 50, "min_tokens": 40}, "need cue_length <= min_tokens <= max_tokens"),
        ({"min_tokens": 100, "max_tokens": 90}, "need cue_length <= min_tokens <= max_tokens"),
        ({"filler_vocab": 5000}, "filler_vocab is at most 4900"),
    ],
)
def test_invalid_spec_is_refused(changes: dict, match: str):
    with pytest.raises(BenchError, match=match):
        SyntheticSpec(**{**vars(SMALL), **changes})


CONCURRENT = SyntheticSpec(n_train=6000, n_test=3000, min_tokens=100, max_tokens=300, cue_length=6, filler_vocab=50)


def _write_cache(folder: str, barrier) -> None:
    barrier.wait(60)
    write_files(CONCURRENT, Path(folder))


def test_two_first_runs_at_once_leave_an_intact_cache(tmp_path: Path):
    """Two runs on a fresh cache generate the same files at once. Both used to write through one fixed `.tmp` name,
    interleaving their gzip streams; each writes its own temporary file now, and the last rename wins whole."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    writers = [ctx.Process(target=_write_cache, args=(str(tmp_path), barrier)) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [w.exitcode for w in writers] == [0, 0]
    (folder,) = tmp_path.iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["test.jsonl.gz", "train.jsonl.gz"]  # no temporary left
    for split, n in (("train", 6000), ("test", 3000)):
        with gzip.open(folder / f"{split}.jsonl.gz", "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        assert rows == generate(CONCURRENT, split) and len(rows) == n
