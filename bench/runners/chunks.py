"""Hierarchical runners: the document cut into chunks of `chunk_length` tokens, one shared RoBERTa encoder, the
chunk representations pooled (mean or max) into one prediction. A long-context baseline that needs no new
attention pattern."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from bench.errors import BenchError
from bench.runners.base import register_runner, with_specials
from bench.runners.hf import PretrainedRunner
from bench.runners.tiny import TinyRobertaRunner

POOLINGS = ("mean", "max")


@dataclass(frozen=True, kw_only=True)
class Chunked:
    """Parameters, encoding and checks shared by the chunk runners (a dataclass mixin, like `HeadTail`).

    A document becomes consecutive chunks `<s> + up to chunk_length - 2 tokens + </s>`, at most
    max_length / chunk_length of them. Every chunk but the last is exactly chunk_length long, and the collator pads
    each batch to a multiple of chunk_length, so chunk boundaries fall at fixed offsets and the model can cut the
    batch into [batch * n_chunks, chunk_length] without knowing where each document ended.
    """

    chunk_length: int = 512
    pooling: str = "mean"
    family_prefix: ClassVar[str]
    truncation: ClassVar[str] = "chunks"

    def __post_init__(self) -> None:
        super().__post_init__()  # type: ignore[misc]
        c = self.chunk_length
        if isinstance(c, bool) or not isinstance(c, int) or c < 8:
            raise BenchError(f"chunk_length must be an integer >= 8, got {c!r}")
        if self.max_length % c:
            raise BenchError(f"max_length ({self.max_length}) must be a multiple of chunk_length ({c})")
        if self.pooling not in POOLINGS:
            raise BenchError(f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")

    @property
    def family(self) -> str:  # type: ignore[override]
        return f"{self.family_prefix}-{self.pooling}"  # mean and max pooling are separate lines in the plots

    @property
    def n_chunks(self) -> int:
        return self.max_length // self.chunk_length

    @property
    def pad_to_multiple_of(self) -> int | None:
        return self.chunk_length

    @property
    def content_tokens(self) -> int | None:
        return self.n_chunks * (self.chunk_length - 2)

    def encode(self, ids: list[int], tokenizer) -> list[int]:
        body = self.chunk_length - len(with_specials([], tokenizer))  # 2 for <s>/</s>; fewer if a tokenizer lacks one
        kept = ids[: self.n_chunks * body]
        out: list[int] = []
        for start in range(0, max(1, len(kept)), body):  # an empty document is still one chunk, <s></s>
            out += with_specials(kept[start : start + body], tokenizer)
        return out

    def _wrap(self, encoder, label_names: Sequence[str]):
        from bench.runners.chunk_model import ChunkPoolingClassifier

        return ChunkPoolingClassifier(encoder, len(label_names), self.chunk_length, self.pooling)

    def describe(self) -> str:
        return (
            f"{self._encoder_name()}, max length {self.max_length} as up to {self.n_chunks} chunks of "
            f"{self.chunk_length}, {self.pooling}-pooled"
        )

    def _encoder_name(self) -> str:
        return getattr(self, "model_id", "")


@dataclass(frozen=True, kw_only=True)
class RobertaChunksRunner(Chunked, PretrainedRunner):
    family_prefix: ClassVar[str] = "roberta-chunks"

    def build_model(self, label_names: Sequence[str]):
        from transformers import AutoModel

        encoder = AutoModel.from_pretrained(
            self.model_id, add_pooling_layer=False, attn_implementation="sdpa", trust_remote_code=self.trust_remote_code
        )
        self._check_positions(encoder.config)
        return self._wrap(encoder, label_names)

    def positions_needed(self) -> int:
        return self.chunk_length


@dataclass(frozen=True, kw_only=True)
class TinyRobertaChunksRunner(Chunked, TinyRobertaRunner):
    """The tiny RoBERTa as the shared chunk encoder, the counterpart of roberta-chunks-*."""

    family_prefix: ClassVar[str] = "tiny-roberta-chunks"

    def build_model(self, label_names: Sequence[str]):
        from transformers import RobertaConfig, RobertaModel

        kwargs = {**self._config_kwargs(label_names), "max_position_embeddings": self.chunk_length + 2}
        config = RobertaConfig(**kwargs)
        config._attn_implementation = "sdpa"
        return self._wrap(RobertaModel(config, add_pooling_layer=False), label_names)

    def _encoder_name(self) -> str:
        return f"tiny RoBERTa ({self.num_layers}x{self.hidden_size})"


# other lengths and chunk sizes by parameter: {runner: roberta-chunks-4096, max_length: 2048, chunk_length: 256}
register_runner("roberta-chunks-4096", model_id="FacebookAI/roberta-base", max_length=4096)(RobertaChunksRunner)
register_runner("roberta-chunks-max-4096", model_id="FacebookAI/roberta-base", max_length=4096, pooling="max")(
    RobertaChunksRunner
)
register_runner("tiny-roberta-chunks-2048", max_length=2048)(TinyRobertaChunksRunner)
register_runner("tiny-roberta-chunks-max-2048", max_length=2048, pooling="max")(TinyRobertaChunksRunner)
