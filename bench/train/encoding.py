"""Tokenize a suite once per tokenizer (cached by datasets), turn it into each runner's model inputs, hold them in
memory for the Trainer's loader, and collate them into batches."""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
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


class InMemorySplit:
    """An encoded split as arrays in memory, a map-style dataset for the Trainer's loader: a document costs
    microseconds to fetch, where a datasets row costs a fraction of a millisecond (the whole step of a small model
    on a GPU). Only what the collator reads is kept: the token ids and the label; `lengths` feeds the
    length-grouped sampler without a row-by-row pass over the dataset each epoch."""

    def __init__(self, split) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        column = split.with_format("arrow")["input_ids"]  # honours an indices mapping (select, sort, shuffle)
        counts = pc.list_value_length(column).to_numpy(zero_copy_only=False).astype(np.int64)
        flat = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.int64)
        self.ids = np.split(flat, np.cumsum(counts)[:-1]) if len(counts) else []
        labels = split.with_format("arrow")["label"]
        if pa.types.is_list(labels.type) or pa.types.is_large_list(labels.type):  # a multi-label suite's id lists
            self.labels = labels.to_pylist()
        else:
            self.labels = labels.to_numpy(zero_copy_only=False).astype(np.int64)
        self.lengths = counts.tolist()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        label = self.labels[i]
        return {"input_ids": self.ids[i], "label": label if isinstance(label, list) else int(label)}


class RunnerCollator:
    """Dynamic padding to the longest sequence of the batch (rounded up as the runner needs), plus runner inputs,
    built in one array. A batch without padding gets no attention mask where the runner allows it (the model then
    takes the unmasked kernel); a padded one gets the mask prepared as the runner's model takes it as it is
    (`prepared_mask`). Either way transformers' check of a 2D mask for padding, a host sync per forward, never runs."""

    def __init__(
        self, tokenizer, runner: TransformerRunner, bucket: int | None = None, n_labels: int | None = None
    ) -> None:
        self.n_labels = n_labels  # a multi-label suite's: each document's label ids become a 0/1 float row
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.runner = runner
        self.prepared = runner.prepared_mask
        # the batch's length is rounded up to a multiple of this (the runner's own, or a compiled model's bucket)
        own = runner.pad_to_multiple_of or 1
        self.multiple = math.lcm(own, bucket) if bucket else runner.pad_to_multiple_of

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        import numpy as np
        import torch

        lengths = [len(f["input_ids"]) for f in features]
        longest = max(lengths)
        multiple = self.multiple
        if multiple:
            longest = -(-longest // multiple) * multiple
        ids = np.full((len(features), longest), self.pad_id, dtype=np.int64)
        for i, f in enumerate(features):
            ids[i, : lengths[i]] = f["input_ids"]
        input_ids = torch.from_numpy(ids)
        batch: dict[str, torch.Tensor] = {"input_ids": input_ids}
        if self.runner.needs_attention_mask or min(lengths) < longest:
            mask = torch.arange(longest)[None, :] < torch.tensor(lengths)[:, None]
            batch["attention_mask"] = mask[:, None, None, :] if self.prepared else mask.long()
        batch.update(self.runner.extra_inputs(input_ids))
        if "label" in features[0] and self.n_labels is not None:
            hot = torch.zeros(len(features), self.n_labels)  # float targets: the model's loss is BCE on sigmoids
            for i, f in enumerate(features):
                hot[i, list(f["label"])] = 1.0
            batch["labels"] = hot
        elif "label" in features[0]:
            batch["labels"] = torch.tensor([f["label"] for f in features])
        return batch
