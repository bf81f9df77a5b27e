"""Tiny runners built from configs, with a tokenizer trained on the suite's own text: offline, fast, for the demo
suite, the tests and quick checks of any suite on a CPU."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from bench.runners.base import TransformerRunner, label_config
from bench.runners.mixins import GlobalFirstToken, HeadTail
from bench.runners.registry import register_runner
from bench.runners.tokenizers import train_tokenizer


@dataclass(frozen=True, kw_only=True)
class TinyRobertaRunner(TransformerRunner):
    """A RoBERTa of a few layers, randomly initialised (from the run's seed)."""

    family: ClassVar[str] = "tiny-roberta"
    mask_4d: ClassVar[bool] = True
    model_type: ClassVar[str] = "roberta"  # transformers' name of the architecture
    architecture: ClassVar[str] = "RoBERTa"
    attn_implementation: ClassVar[str | None] = "sdpa"
    vocab_size: int = 4000
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 2

    @property
    def model_name(self) -> str:
        return f"tiny {self.architecture} ({self.num_layers}x{self.hidden_size})"

    def build_tokenizer(self, corpus):
        return train_tokenizer(corpus, self.vocab_size)

    def config_overrides(self) -> dict[str, Any]:
        return {}

    def build_config(self, label_names: Sequence[str], **changes: Any):
        """The model's config: the runner's sizes, RoBERTa's special-token ids, `changes` on top."""
        from transformers import AutoConfig

        settings = dict(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            intermediate_size=2 * self.hidden_size,
            max_position_embeddings=self.max_length + 2,  # RoBERTa positions start after the padding index
            type_vocab_size=1,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            **label_config(label_names),
        )
        return AutoConfig.for_model(self.model_type, **{**settings, **self.config_overrides(), **changes})

    def build_model(self, label_names: Sequence[str]):
        from transformers import AutoModelForSequenceClassification

        config = self.build_config(label_names)
        if self.attn_implementation:
            config._attn_implementation = self.attn_implementation
        return AutoModelForSequenceClassification.from_config(config)


@dataclass(frozen=True, kw_only=True)
class TinyLongformerRunner(GlobalFirstToken, TinyRobertaRunner):
    """A Longformer of a few layers with sliding-window attention and global attention on <s>."""

    family: ClassVar[str] = "tiny-longformer"
    model_type: ClassVar[str] = "longformer"
    architecture: ClassVar[str] = "Longformer"
    attn_implementation: ClassVar[str | None] = None  # Longformer has its own attention kernels
    attention_window: int = 64  # type: ignore[misc]

    def config_overrides(self) -> dict[str, Any]:
        return {"attention_window": self.attention_window}


@dataclass(frozen=True, kw_only=True)
class TinyRobertaHeadTailRunner(HeadTail, TinyRobertaRunner):
    """The tiny RoBERTa with head+tail truncation, the counterpart of roberta-headtail-512."""

    family: ClassVar[str] = "tiny-roberta-headtail"


register_runner("tiny-roberta-128", max_length=128)(TinyRobertaRunner)
register_runner("tiny-roberta-512", max_length=512)(TinyRobertaRunner)
register_runner("tiny-longformer-2048", max_length=2048, attention_window=32)(TinyLongformerRunner)
register_runner("tiny-roberta-headtail-512", max_length=512, head_tokens=128)(TinyRobertaHeadTailRunner)
