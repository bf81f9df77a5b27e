"""Tokenization reuse: a tokenizer trained on a corpus is trained once and loaded from the cache afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.data import cache_dir
from bench.runners.tokenizers import train_tokenizer

TEXTS = ["the film was a delight from start to finish", "a dull plot and wooden acting, avoid it"] * 30


def _tokenizer_files() -> set[Path]:
    return set((cache_dir() / "tokenizers").glob("*.json"))


def test_a_trained_tokenizer_is_cached_and_reloaded(monkeypatch: pytest.MonkeyPatch):
    before = _tokenizer_files()
    first = train_tokenizer(lambda: iter(TEXTS), vocab_size=90)
    written = _tokenizer_files() - before
    assert len(written) == 1

    calls = []
    monkeypatch.setattr("tokenizers.Tokenizer.train_from_iterator", lambda *a, **k: calls.append(a))
    again = train_tokenizer(lambda: iter(TEXTS), vocab_size=90)
    assert calls == []  # loaded, not trained
    assert again.backend_tokenizer.to_str() == first.backend_tokenizer.to_str()
    assert again("a dull film")["input_ids"] == first("a dull film")["input_ids"]
    assert again.pad_token_id == 1 and again.bos_token_id == 0


def test_another_corpus_or_vocabulary_trains_again():
    before = _tokenizer_files()
    train_tokenizer(lambda: iter(TEXTS), vocab_size=91)
    train_tokenizer(lambda: iter([*TEXTS, "one more review"]), vocab_size=91)
    assert len(_tokenizer_files() - before) == 2


def test_a_damaged_cache_entry_is_trained_again():
    before = _tokenizer_files()
    train_tokenizer(lambda: iter(TEXTS), vocab_size=92)
    (entry,) = _tokenizer_files() - before
    entry.write_text("{not json")
    tokenizer = train_tokenizer(lambda: iter(TEXTS), vocab_size=92)
    assert tokenizer("a dull film")["input_ids"] and entry.read_text().startswith("{")
