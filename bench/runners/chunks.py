"""Hierarchical runners: the document cut into chunks of `chunk_length` tokens, one shared RoBERTa encoder, the
chunk representations pooled (mean or max) into one prediction (`bench.runners.mixins.Chunked`). A long-context
baseline that needs no new attention pattern."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bench.runners.hf import RobertaRunner
from bench.runners.mixins import Chunked
from bench.runners.registry import register_runner
from bench.runners.tiny import TinyRobertaRunner


@dataclass(frozen=True, kw_only=True)
class RobertaChunksRunner(Chunked, RobertaRunner):
    """RoBERTa's encoder (`PretrainedRunner.build_encoder`, SDPA attention) over chunks."""

    family_prefix: ClassVar[str] = "roberta-chunks"


@dataclass(frozen=True, kw_only=True)
class TinyRobertaChunksRunner(Chunked, TinyRobertaRunner):
    """The tiny RoBERTa as the shared chunk encoder, the counterpart of roberta-chunks-*."""

    family_prefix: ClassVar[str] = "tiny-roberta-chunks"

    def build_encoder(self, label_names):
        from transformers import AutoModel

        config = self.build_config(label_names, max_position_embeddings=self.chunk_length + 2)
        config._attn_implementation = "sdpa"
        return AutoModel.from_config(config, add_pooling_layer=False)


# other lengths and chunk sizes by parameter: {runner: roberta-chunks-4096, max_length: 2048, chunk_length: 256}
register_runner("roberta-chunks-4096", model_id="FacebookAI/roberta-base", max_length=4096)(RobertaChunksRunner)
register_runner("roberta-chunks-max-4096", model_id="FacebookAI/roberta-base", max_length=4096, pooling="max")(
    RobertaChunksRunner
)
register_runner("tiny-roberta-chunks-2048", max_length=2048)(TinyRobertaChunksRunner)
register_runner("tiny-roberta-chunks-max-2048", max_length=2048, pooling="max")(TinyRobertaChunksRunner)
