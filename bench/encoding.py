"""Tokenize a suite once per tokenizer (cached by datasets) and turn it into each runner's model inputs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasets import DatasetDict

    from bench.runners import Runner


def trained_once(recipe: str, texts: Iterable[str], train: Callable[[list[str]], Any]) -> Any:
    """The `tokenizers.Tokenizer` that `train(texts)` returns, cached in $BENCH_CACHE/tokenizers under a digest of
    `recipe` and every text: the next run on the same documents loads it in milliseconds instead of training again
    (training was most of a warm run's data preparation)."""
    from tokenizers import Tokenizer

    from bench.data import cache_dir
    from bench.records import atomic_write_text

    texts = list(texts)
    digest = hashlib.sha256(recipe.encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    path = cache_dir() / "tokenizers" / f"{digest.hexdigest()[:32]}.json"
    if path.exists():
        try:
            return Tokenizer.from_file(str(path))
        except Exception:  # a damaged cache entry is trained again and replaced
            pass
    tokenizer = train(texts)
    atomic_write_text(path, tokenizer.to_str())
    return tokenizer


def tokenizer_key(tokenizer) -> str:
    """A digest of the tokenizer's vocabulary and rules: runners whose tokenizers match share one tokenization."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    spec = backend.to_str() if backend is not None else f"{type(tokenizer).__name__}:{tokenizer.name_or_path}"
    return hashlib.sha256(spec.encode()).hexdigest()[:24]


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def tokenize(splits: DatasetDict, tokenizer) -> DatasetDict:
    """Full token ids (no special tokens, no truncation) and their count `n_tokens`, per document."""
    key = tokenizer_key(tokenizer)

    def tokenize_batch(batch: dict) -> dict:
        ids = tokenizer(batch["text"], add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        return {"ids": ids, "n_tokens": [len(x) for x in ids]}

    return type(splits)(
        {
            name: ds.map(
                tokenize_batch,
                batched=True,
                remove_columns=["text"],
                new_fingerprint=_fingerprint(ds._fingerprint, "tokenize", key),
                desc=f"tokenizing {name}",
            )
            for name, ds in splits.items()
        }
    )


def encode(tokenized: DatasetDict, runner: Runner, tokenizer) -> DatasetDict:
    """Model inputs (`input_ids`, `attention_mask`, `length` for length-grouped batching) for one runner."""
    key = _fingerprint(tokenizer_key(tokenizer), type(runner).__qualname__, repr(sorted(runner.params().items())))

    def encode_batch(batch: dict) -> dict:
        input_ids = [runner.encode(ids, tokenizer) for ids in batch["ids"]]
        return {
            "input_ids": input_ids,
            "attention_mask": [[1] * len(x) for x in input_ids],
            "length": [len(x) for x in input_ids],
        }

    return type(tokenized)(
        {
            name: ds.map(
                encode_batch,
                batched=True,
                remove_columns=["ids"],
                new_fingerprint=_fingerprint(ds._fingerprint, "encode", key),
                desc=f"encoding {name}",
            )
            for name, ds in tokenized.items()
        }
    )
