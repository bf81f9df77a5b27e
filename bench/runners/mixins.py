"""How a document becomes model input, as dataclass mixins: each adds its parameters (fields), checks them in
`__post_init__` and overrides what it changes. Listed before the runner class they are mixed into:
`class RobertaHeadTailRunner(HeadTail, RobertaRunner)`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from bench.errors import BenchError
from bench.runners.base import with_specials
from bench.runners.shapes import Shape, SlidingWindow, WithinChunks

if TYPE_CHECKING:
    import torch

POOLINGS = ("mean", "max")


def _check_int(name: str, value: object, minimum: int, rule: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BenchError(f"{name} must be {rule or f'an integer >= {minimum}'}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class HeadTail:
    """Head+tail truncation: the first `head_tokens` and the last max_length - 2 - head_tokens tokens of a document.

    Sun et al. (2019, "How to Fine-Tune BERT for Text Classification?") found 128 + 382 the best way to cut IMDB
    reviews to 512 tokens: reviews tend to state their verdict at the end.
    """

    head_tokens: int = 128
    truncation: ClassVar[str] = "head+tail"

    def __post_init__(self) -> None:
        super().__post_init__()  # type: ignore[misc]
        h = self.head_tokens
        if isinstance(h, bool) or not isinstance(h, int) or not 0 <= h <= self.max_length - 2:
            raise BenchError(
                f"head_tokens must be an integer from 0 to max_length - 2 = {self.max_length - 2} "
                f"(the tail gets the rest), got {h!r}"
            )

    def encode(self, ids: list[int], tokenizer) -> list[int]:
        keep = self.max_length - 2
        if len(ids) > keep:
            tail = keep - self.head_tokens
            ids = ids[: self.head_tokens] + ids[len(ids) - tail :]  # not ids[-tail:]: that is everything when tail=0
        return with_specials(ids, tokenizer)

    def describe(self) -> str:
        tail = self.max_length - 2 - self.head_tokens
        return f"{super().describe()} (first {self.head_tokens} + last {tail} tokens)"  # type: ignore[misc]


@dataclass(frozen=True, kw_only=True)
class GlobalFirstToken:
    """Longformer-style attention: a sliding window of `attention_window` tokens, global attention on the first
    token, batches padded to a multiple of the window."""

    attention_window: int = 512  # type: ignore[misc]
    mask_4d: ClassVar[bool] = False  # Longformer reads its mask as [batch, length]

    def __post_init__(self) -> None:
        super().__post_init__()  # type: ignore[misc]
        w = self.attention_window
        if isinstance(w, bool) or not isinstance(w, int) or w <= 0 or w % 2:
            raise BenchError(f"attention_window must be a positive even integer, got {w!r}")

    @property
    def pad_to_multiple_of(self) -> int | None:
        return self.attention_window

    def extra_inputs(self, input_ids: torch.Tensor) -> dict[str, torch.Tensor]:
        import torch

        mask = torch.zeros_like(input_ids)
        mask[:, 0] = 1
        return {"global_attention_mask": mask}

    def model_shape(self, config: Any) -> Shape | None:
        """The encoder's shape with each layer's window (the config's, per layer where it lists one) and <s> global."""
        shape = super().model_shape(config)  # type: ignore[misc]
        if shape is None:
            return None
        windows = getattr(config, "attention_window", None) or self.attention_window
        if not isinstance(windows, list | tuple):
            windows = [windows] * shape.n_layers
        return replace(shape, attention=tuple(SlidingWindow(int(w), global_tokens=1) for w in windows))

    def describe(self) -> str:
        return f"{super().describe()}, global attention on <s>"  # type: ignore[misc]


@dataclass(frozen=True, kw_only=True)
class Chunked:
    """The document cut into chunks read by one shared encoder, their first-token vectors pooled (mean or max).

    A document becomes consecutive chunks `<s> + up to chunk_length - 2 tokens + </s>`, at most
    max_length / chunk_length of them (a max_length shorter than chunk_length: one chunk of max_length). Every chunk
    but the last is exactly chunk_length long, and the collator pads each batch to a multiple of chunk_length, so
    chunk boundaries fall at fixed offsets and the model can cut the batch into [batch * n_chunks, chunk_length]
    without knowing where each document ended. The runner it is mixed into builds the encoder (`build_encoder`); the
    mixin wraps it.
    """

    chunk_length: int = 512
    pooling: str = "mean"
    family_prefix: ClassVar[str]
    truncation: ClassVar[str] = "chunks"
    needs_attention_mask: ClassVar[bool] = True  # the pooling tells a chunk of padding from one of text by its mask
    mask_4d: ClassVar[bool] = False  # and reads it as [batch, length]

    def __post_init__(self) -> None:
        super().__post_init__()  # type: ignore[misc]
        _check_int("chunk_length", self.chunk_length, 8)
        if self.max_length < self.chunk_length:
            # One chunk of max_length, rather than a refusal: `bench profile` builds the runner at lengths below its
            # chunk, and a suite may cut documents shorter. The record's chunk_length then says what really ran.
            object.__setattr__(self, "chunk_length", self.max_length)
        if self.max_length % self.chunk_length:
            raise BenchError(f"max_length ({self.max_length}) must be a multiple of chunk_length ({self.chunk_length})")
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

    def positions_needed(self) -> int:
        return self.chunk_length  # the encoder reads one chunk at a time

    def model_config(self, model) -> Any:
        return model.encoder.config  # the ChunkPoolingClassifier is a plain nn.Module around the encoder

    def model_shape(self, config: Any) -> Shape | None:
        """The encoder's shape, each layer attending within one chunk: context min(L, chunk_length)."""
        shape = super().model_shape(config)  # type: ignore[misc]
        if shape is None:
            return None
        return replace(shape, attention=tuple(WithinChunks(a, self.chunk_length) for a in shape.attention))

    def encode(self, ids: list[int], tokenizer) -> list[int]:
        body = self.chunk_length - len(with_specials([], tokenizer))  # 2 for <s>/</s>; fewer if a tokenizer lacks one
        kept = ids[: self.n_chunks * body]
        out: list[int] = []
        for start in range(0, max(1, len(kept)), body):  # an empty document is still one chunk, <s></s>
            out += with_specials(kept[start : start + body], tokenizer)
        return out

    def build_model(self, label_names: Sequence[str]):
        from bench.runners.chunk_model import ChunkPoolingClassifier

        encoder = self.build_encoder(label_names)  # type: ignore[attr-defined]
        return ChunkPoolingClassifier(encoder, len(label_names), self.chunk_length, self.pooling)

    def describe(self) -> str:
        return (
            f"{self.model_name}, max length {self.max_length} as up to {self.n_chunks} chunks of "  # type: ignore[attr-defined]
            f"{self.chunk_length}, {self.pooling}-pooled"
        )
