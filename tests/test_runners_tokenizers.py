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


@pytest.mark.parametrize(
    ("model_id", "specials"),
    [
        ("FacebookAI/roberta-base", {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 50264}),
        ("answerdotai/ModernBERT-base", {"[UNK]": 50280, "[CLS]": 50281, "[SEP]": 50282, "[PAD]": 50283}),
        ("sentence-transformers/all-MiniLM-L6-v2", {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102}),
    ],
)
def test_a_stand_in_tokenizer_has_the_real_vocabulary_size_and_special_ids(model_id, specials):
    """Trained on the suite's text in the family's way, with the ids the model's config names (RoBERTa numbers
    positions from its padding id, so <pad> must be 1), and no id beyond the real embedding table."""
    from bench.runners.architectures import architecture
    from bench.runners.base import with_specials
    from bench.runners.tokenizers import tokenizer_source, train_like

    arch = architecture(model_id)
    tokenizer = train_like(lambda: iter(TEXTS), arch)
    assert all(tokenizer.convert_tokens_to_ids(token) == i for token, i in specials.items())
    vocab = tokenizer.get_vocab()
    assert max(vocab.values()) < arch.vocab_size and len(set(vocab.values())) == len(vocab)
    ids = tokenizer("The film was a DELIGHT", add_special_tokens=False)["input_ids"]
    assert ids and all(i not in specials.values() for i in ids)
    wrapped = with_specials(ids, tokenizer)
    assert (wrapped[0], wrapped[-1]) == (tokenizer.cls_token_id, tokenizer.sep_token_id)
    assert tokenizer.pad_token_id == arch.config["pad_token_id"]
    lowercase = model_id.startswith("sentence-transformers")
    assert (tokenizer.decode(ids).strip() == "the film was a delight") is lowercase
    assert f"vocabulary {arch.vocab_size}" in tokenizer_source(tokenizer) and model_id in tokenizer_source(tokenizer)
