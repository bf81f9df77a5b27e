"""Runners for pretrained Hugging Face checkpoints: RoBERTa (head, head+tail truncation), Longformer, ModernBERT."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from bench.errors import BenchError
from bench.runners.base import TransformerRunner
from bench.runners.mixins import GlobalFirstToken, HeadTail
from bench.runners.registry import register_runner
from bench.runners.shapes import FullAttention, Shape, SlidingWindow


@dataclass(frozen=True)
class PretrainedRunner(TransformerRunner):
    """A checkpoint loaded with `from_pretrained`; `model_id` may be a hub id or a local folder."""

    model_id: str = ""
    # Runs Python code shipped with the checkpoint: only when a suite sets it, and `bench run` warns when it does.
    trust_remote_code: bool = False

    @property
    def model_name(self) -> str:
        return self.model_id

    def build_tokenizer(self, corpus):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.model_id, trust_remote_code=self.trust_remote_code)

    def build_model(self, label_names: Sequence[str]):
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(
            self.model_id,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={n: i for i, n in enumerate(label_names)},
            trust_remote_code=self.trust_remote_code,
            **self.config_overrides(),
        )
        self._check_positions(model.config)  # where the config was not at hand before the sweep started
        return model

    def config_overrides(self) -> dict[str, Any]:
        return {}

    def positions_needed(self) -> int:
        """The longest sequence the model itself is given (a chunked runner gives it one chunk at a time)."""
        return self.max_length

    def check_supported(self) -> None:
        from transformers import AutoConfig

        try:  # local folder or the Hugging Face cache only: planning a sweep must not wait on the network
            config = AutoConfig.from_pretrained(
                self.model_id, local_files_only=True, trust_remote_code=self.trust_remote_code
            )
        except Exception:  # not downloaded yet: checked again in the worker, once the model is loaded
            return
        self._check_positions(config)

    def position_limit(self, config) -> int | None:
        """How many tokens one input of `config`'s model may have (None: no fixed position table)."""
        limit = getattr(config, "max_position_embeddings", None)
        if not isinstance(limit, int):
            return None
        if config.model_type in _PADDED_POSITIONS:  # positions start after the padding index
            limit -= (config.pad_token_id or 0) + 1
        return limit

    def _check_positions(self, config) -> None:
        limit = self.position_limit(config)
        if limit is not None and self.positions_needed() > limit:
            raise BenchError(
                f"max_length {self.positions_needed()} is more than {self.model_id} supports ({limit}); "
                f"use max_length <= {limit}, or a runner made for longer documents"
            )


_PADDED_POSITIONS = ("roberta", "longformer", "xlm-roberta", "xlm-roberta-xl", "camembert")


@register_runner("roberta-512", model_id="FacebookAI/roberta-base", max_length=512)
@dataclass(frozen=True)
class RobertaRunner(PretrainedRunner):
    family: ClassVar[str] = "roberta"

    def config_overrides(self) -> dict[str, Any]:
        return {"attn_implementation": "sdpa"}


@register_runner("roberta-headtail-512", model_id="FacebookAI/roberta-base", max_length=512, head_tokens=128)
@dataclass(frozen=True, kw_only=True)
class RobertaHeadTailRunner(HeadTail, RobertaRunner):
    family: ClassVar[str] = "roberta-headtail"


@register_runner("modernbert-8192", model_id="answerdotai/ModernBERT-base", max_length=8192)
@dataclass(frozen=True)
class ModernBertRunner(PretrainedRunner):
    """ModernBERT: 8192 positions (RoPE), local attention (a 128-token window) in two layers of three and global
    attention in every third. Its tokenizer's [CLS]/[SEP] are added around the kept tokens like RoBERTa's <s>/</s>."""

    family: ClassVar[str] = "modernbert"

    def config_overrides(self) -> dict[str, Any]:
        return {"attn_implementation": "sdpa"}  # explicit, so every run of the suite uses the same kernels

    def model_shape(self, config: Any) -> Shape | None:
        """A gated (GLU) feed-forward: Wi projects d -> 2f (input and gate), Wo f -> d. Layer i attends globally
        when i % global_attn_every_n_layers == 0, else to |i - j| <= local_attention / 2: local_attention + 1 keys
        (14 of the base model's 22 layers, with a window of 128)."""
        shape = super().model_shape(config)
        if shape is None:
            return None
        types = getattr(config, "layer_types", None)
        if not types:  # configs written before transformers listed layer types
            every = int(getattr(config, "global_attn_every_n_layers", 3))
            types = ["sliding_attention" if i % every else "full_attention" for i in range(shape.n_layers)]
        local = SlidingWindow(int(config.local_attention))
        attention = tuple(local if t == "sliding_attention" else FullAttention() for t in types)
        return replace(shape, attention=attention, gated_ffn=True)


@dataclass(frozen=True, kw_only=True)
class LongformerRunner(GlobalFirstToken, PretrainedRunner):
    family: ClassVar[str] = "longformer"

    def config_overrides(self) -> dict[str, Any]:
        return {"attention_window": self.attention_window}


for _window, _length in itertools.product((128, 256, 512), (1024, 2048, 4096)):
    register_runner(
        f"longformer-{_window}-{_length}",
        model_id="allenai/longformer-base-4096",
        attention_window=_window,
        max_length=_length,
    )(LongformerRunner)
