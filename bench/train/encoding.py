"""Tokenize a suite once per tokenizer (cached by datasets) and turn it into each runner's model inputs."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasets import DatasetDict

    from bench.runners import TransformerRunner


def tokenizer_key(tokenizer) -> str:
    """A digest of the tokenizer's vocabulary and rules: runners whose tokenizers match share one tokenization."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    spec = backend.to_str() if backend is not None else f"{type(tokenizer).__name__}:{tokenizer.name_or_path}"
    return hashlib.sha256(spec.encode()).hexdigest()[:24]


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _map_splits(splits: DatasetDict, fn, remove: str, step: str, key: str) -> DatasetDict:
    """`fn` over every split, batched, replacing column `remove`; cached by datasets under a fingerprint of the
    split, the step and `key` (what the output depends on), so the next run with the same inputs reads the cache."""
    return type(splits)(
        {
            name: ds.map(
                fn,
                batched=True,
                remove_columns=[remove],
                new_fingerprint=_fingerprint(ds._fingerprint, step, key),
                desc=f"{step.removesuffix('e')}ing {name}",
            )
            for name, ds in splits.items()
        }
    )


def tokenize(splits: DatasetDict, tokenizer) -> DatasetDict:
    """Full token ids (no special tokens, no truncation) and their count `n_tokens`, per document."""

    def tokenize_batch(batch: dict) -> dict:
        ids = tokenizer(batch["text"], add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        return {"ids": ids, "n_tokens": [len(x) for x in ids]}

    return _map_splits(splits, tokenize_batch, "text", "tokenize", tokenizer_key(tokenizer))


def encode(tokenized: DatasetDict, runner: TransformerRunner, tokenizer) -> DatasetDict:
    """Model inputs (`input_ids`, `attention_mask`, `length` for length-grouped batching) for one runner."""
    key = _fingerprint(tokenizer_key(tokenizer), type(runner).__qualname__, repr(sorted(runner.params().items())))

    def encode_batch(batch: dict) -> dict:
        input_ids = [runner.encode(ids, tokenizer) for ids in batch["ids"]]
        return {
            "input_ids": input_ids,
            "attention_mask": [[1] * len(x) for x in input_ids],
            "length": [len(x) for x in input_ids],
        }

    return _map_splits(tokenized, encode_batch, "ids", "encode", key)
