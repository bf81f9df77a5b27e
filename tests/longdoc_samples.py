"""Small generated files of the same shape as each long-document suite's real data (columns, types, file names),
for the tests that load them through the real loading code with --data-dir."""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = [
    "court",
    "article",
    "law",
    "news",
    "party",
    "vote",
    "genre",
    "novel",
    "council",
    "regulation",
    "member",
    "state",
    "fact",
    "case",
]


def _text(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def hyperpartisan(folder: Path, n_train: int = 40, n_dev: int = 6, n_test: int = 10) -> Path:
    """The Longformer split as jsonl (hp_preprocess.py's shape): text, label "true"/"false", in train/dev/test."""
    rng = random.Random(0)
    for split, n in (("train", n_train), ("dev", n_dev), ("test", n_test)):
        rows = [{"text": _text(rng, 300), "label": "true" if i % 3 == 0 else "false"} for i in range(n)]
        _jsonl(folder / f"{split}.jsonl", rows)
    return folder


NEWSGROUPS = [f"group.{i:02d}" for i in range(20)]


def newsgroups(folder: Path, per_class_train: int = 10, per_class_test: int = 2) -> Path:
    """SetFit/20_newsgroups' shape: train.jsonl and test.jsonl with text, label (0..19) and label_text."""
    rng = random.Random(1)
    for split, per in (("train", per_class_train), ("test", per_class_test)):
        rows = [
            {"text": _text(rng, 80), "label": c, "label_text": NEWSGROUPS[c]} for c in range(20) for _ in range(per)
        ]
        _jsonl(folder / f"{split}.jsonl", rows)
    return folder


def eurlex57k(folder: Path, n_train: int = 30, n_test: int = 8) -> Path:
    """The converted EURLEX57K (docs/long-document-suites.md): celex_id, title, text (header, recitals, main body),
    text_inverted (main body, recitals, header) and concepts (EUROVOC ids as strings), in train/dev/test.jsonl."""
    rng = random.Random(2)
    concepts = ["1309", "2771", "3191", "4256", "5451"]
    for split, n in (("train", n_train), ("dev", 4), ("test", n_test)):
        rows = []
        for i in range(n):
            header, recitals = f"HEADER {i} " + _text(rng, 10), "RECITALS " + _text(rng, 40)
            body = ["BODY " + _text(rng, 60) for _ in range(3)]
            rows.append({
                "celex_id": f"3{split[:2]}{i:04d}R",
                "title": f"Regulation {i}",
                "text": "\n".join([header, recitals, *body]),
                "text_inverted": "\n".join([*body, recitals, header]),
                "concepts": sorted(rng.sample(concepts, 1 + i % 3)),
            })  # fmt: skip
        _jsonl(folder / f"{split}.jsonl", rows)
    return folder


GENRES = ["Science Fiction", "Novel", "Fantasy", "Children's literature", "Mystery"]


def booksummaries(folder: Path, n_train: int = 30, n_test: int = 8) -> Path:
    """The converted CMU Book Summary set (docs/long-document-suites.md): id, title, author, text and genres (a list
    of genre names), in train/dev/test.jsonl."""
    rng = random.Random(3)
    for split, n in (("train", n_train), ("dev", 4), ("test", n_test)):
        rows = [
            {"id": f"{split}-{i}", "title": f"Book {i}", "author": "A. Writer", "text": _text(rng, 200),
             "genres": sorted(rng.sample(GENRES, 1 + i % 2))}
            for i in range(n)
        ]  # fmt: skip
        _jsonl(folder / f"{split}.jsonl", rows)
    return folder


def ecthr_a(folder: Path, n_train: int = 30, n_test: int = 8) -> Path:
    """LexGLUE's ecthr_a parquet files (renamed train/validation/test.parquet): text is a list of paragraphs, labels
    a list of article ids 0..9, and some cases violate nothing (an empty list)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(4)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("validation", 4), ("test", n_test)):
        text = [[f"{i}. " + _text(rng, 30) for i in range(1, 2 + k % 4)] for k in range(n)]
        labels = [[] if k % 5 == 0 else sorted(rng.sample(range(10), 1 + k % 2)) for k in range(n)]
        table = pa.table(
            {"text": pa.array(text, pa.list_(pa.string())), "labels": pa.array(labels, pa.list_(pa.int64()))}
        )
        pq.write_table(table, folder / f"{split}.parquet")
    return folder
