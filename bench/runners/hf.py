"""Runners for pretrained Hugging Face checkpoints: RoBERTa (head, head+tail truncation), Longformer, ModernBERT."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from bench.errors import BenchError
from bench.runners.base import Runner, register_runner, with_specials

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class PretrainedRunner(Runner):
    """A checkpoint loaded with `from_pretrained`; `model_id` may be a hub id or a local folder."""

    model_id: str = ""
    # Runs Python code shipped with the checkpoint: only when a suite sets it, and `bench run` warns when it does.
    trust_remote_code: bool = False

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


class GlobalFirstToken:
    """Longformer-style inputs: global attention on the first token, batches padded to a multiple of the window."""

    attention_window: int

    def _check_window(self) -> None:
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


@dataclass(frozen=True, kw_only=True)
class HeadTail:
    """Head+tail truncation: the first `head_tokens` and the last max_length - 2 - head_tokens tokens of a document.

    Sun et al. (2019, "How to Fine-Tune BERT for Text Classification?") found 128 + 382 the best way to cut IMDB
    reviews to 512 tokens: reviews tend to state their verdict at the end. A dataclass mixin (its field and its
    check join those of the runner it is mixed into), listed before the runner's class.
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


@dataclass(frozen=True, kw_only=True)
class LongformerRunner(GlobalFirstToken, PretrainedRunner):
    family: ClassVar[str] = "longformer"
    attention_window: int = 512  # type: ignore[misc]

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_window()

    def config_overrides(self) -> dict[str, Any]:
        return {"attention_window": self.attention_window}


for _window, _length in itertools.product((128, 256, 512), (1024, 2048, 4096)):
    register_runner(
        f"longformer-{_window}-{_length}",
        model_id="allenai/longformer-base-4096",
        attention_window=_window,
        max_length=_length,
    )(LongformerRunner)
