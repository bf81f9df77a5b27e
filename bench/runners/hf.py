"""Runners for pretrained Hugging Face checkpoints: RoBERTa (head truncation) and Longformer."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from bench.errors import BenchError
from bench.runners.base import Runner, register_runner

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class PretrainedRunner(Runner):
    """A checkpoint loaded with `from_pretrained`; `model_id` may be a hub id or a local folder."""

    model_id: str = ""

    def build_tokenizer(self, corpus):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.model_id)

    def build_model(self, label_names: Sequence[str]):
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification.from_pretrained(
            self.model_id,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={n: i for i, n in enumerate(label_names)},
            **self.config_overrides(),
        )

    def config_overrides(self) -> dict[str, Any]:
        return {}


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


@register_runner("roberta-512", model_id="FacebookAI/roberta-base", max_length=512)
@dataclass(frozen=True)
class RobertaRunner(PretrainedRunner):
    family: ClassVar[str] = "roberta"

    def config_overrides(self) -> dict[str, Any]:
        return {"attn_implementation": "sdpa"}


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
