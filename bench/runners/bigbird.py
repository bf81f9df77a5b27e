"""BigBird (block-sparse attention), with the attention type each forward pass really ran recorded per run.

transformers' BigBirdModel switches itself to full attention whenever a batch is too short for block-sparse
attention (at most (5 + 2 * num_random_blocks) * block_size tokens, 704 for the base model) — with a warning
only — and the switch is permanent: every later batch, however long, runs full attention. With length-grouped
batches the first short batch would silently turn a "block-sparse" run into a full-attention one. The runner
therefore restores block-sparse attention before each forward pass (so the fallback holds for that batch alone)
and counts the passes that ran each type, which `run_facts` puts into the record.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from bench.errors import BenchError
from bench.runners.hf import PretrainedRunner
from bench.runners.registry import register_runner
from bench.runners.shapes import BlockSparse, Shape

ATTENTION_TYPES = ("block_sparse", "original_full")


@register_runner("bigbird-4096", model_id="google/bigbird-roberta-base", max_length=4096)
@dataclass(frozen=True, kw_only=True)
class BigBirdRunner(PretrainedRunner):
    family: ClassVar[str] = "bigbird"
    attention_type: str = "block_sparse"
    block_size: int = 64
    num_random_blocks: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.attention_type not in ATTENTION_TYPES:
            raise BenchError(f"attention_type must be one of {', '.join(ATTENTION_TYPES)}, got {self.attention_type!r}")
        for name in ("block_size", "num_random_blocks"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise BenchError(f"{name} must be a positive integer, got {value!r}")

    @property
    def pad_to_multiple_of(self) -> int | None:
        return self.block_size  # block-sparse attention needs it (BigBird would pad itself, with a warning)

    @property
    def min_sparse_length(self) -> int:
        """The shortest (padded) batch that can run block-sparse attention; shorter ones run full attention."""
        return BlockSparse(self.block_size, self.num_random_blocks).min_sparse_length

    def config_overrides(self) -> dict[str, Any]:
        return {
            "attention_type": self.attention_type,
            "block_size": self.block_size,
            "num_random_blocks": self.num_random_blocks,
        }

    def model_shape(self, config: Any) -> Shape | None:
        """Block-sparse attention in every layer (full attention on sequences too short for it, as transformers
        falls back to), counted by `bench.runners.shapes.BlockSparse`; full attention where the config asks for it."""
        shape = super().model_shape(config)
        if shape is None or getattr(config, "attention_type", "block_sparse") != "block_sparse":
            return shape
        sparse = BlockSparse(int(config.block_size), int(config.num_random_blocks))
        return replace(shape, attention=(sparse,) * shape.n_layers)

    def build_model(self, label_names):
        model = super().build_model(label_names)
        counts: Counter[str] = Counter()
        model._bench_attention_counts = counts  # read back by run_facts; the Trainer keeps this model object
        base = model.base_model

        def restore(module, args, kwargs):
            ids = kwargs.get("input_ids", args[0] if args else None)
            if ids is None:
                ids = kwargs["inputs_embeds"]
            if self.attention_type == "block_sparse" and ids.shape[1] >= self.min_sparse_length:
                module.set_attention_type("block_sparse")  # no-op unless an earlier short batch switched it off

        def count(module, args, kwargs, output):
            counts[f"{'train' if module.training else 'eval'}:{module.attention_type}"] += 1

        base.register_forward_pre_hook(restore, with_kwargs=True)
        base.register_forward_hook(count, with_kwargs=True)
        return model

    def run_facts(self, model) -> dict[str, Any]:
        counts: Counter[str] = getattr(model, "_bench_attention_counts", Counter())
        facts: dict[str, Any] = {"bigbird_requested_attention_type": self.attention_type}
        for phase in ("train", "eval"):
            sparse, full = counts[f"{phase}:block_sparse"], counts[f"{phase}:original_full"]
            facts[f"bigbird_{phase}_batches_block_sparse"] = sparse
            facts[f"bigbird_{phase}_batches_full"] = full
            facts[f"bigbird_{phase}_block_sparse_fraction"] = sparse / (sparse + full) if sparse + full else None
        used = {t for t in ATTENTION_TYPES if counts[f"train:{t}"] or counts[f"eval:{t}"]}
        facts["bigbird_attention_type"] = used.pop() if len(used) == 1 else ("mixed" if used else None)
        return facts

    def describe(self) -> str:
        attention = (
            f"block-sparse attention (blocks of {self.block_size}, {self.num_random_blocks} random; full attention "
            f"on batches under {self.min_sparse_length} tokens)"
            if self.attention_type == "block_sparse"
            else "full attention"
        )
        return f"{self.model_name}, max length {self.max_length}, {attention}, head truncation"
