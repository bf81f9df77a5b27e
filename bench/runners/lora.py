"""LoRA fine-tuning through peft, as a runner mixin: low-rank adapters on the chosen projections, the classification
head trained in full, every other weight frozen."""

from __future__ import annotations

import importlib.util
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

from bench.errors import BenchError

# every linear map of a Llama-like block: attention (q, k, v, o) and the gated feed-forward (gate, up, down), as in
# the QLoRA paper (Dettmers et al. 2023), which found adapters on all of them needed to match full fine-tuning
ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
INSTALL = "pip install -e '.[lora]'"


class LoraNotInstalled(BenchError):
    """A LoRA runner was used where peft is not installed."""


def require_peft() -> None:
    """Raise a one-line BenchError naming the install command where peft is missing."""
    if importlib.util.find_spec("peft") is None:
        raise LoraNotInstalled(f"LoRA runners need the peft package: {INSTALL}")


@dataclass(frozen=True, kw_only=True)
class Lora:
    """LoRA (Hu et al. 2021): W x + (alpha / r) · B A x on each module named in `lora_target_modules`, A and B
    trained, W frozen; the classification head (`head_module`) is trained in full (peft's modules_to_save)."""

    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: tuple[str, ...] = ALL_LINEAR
    head_module: ClassVar[str] = "score"  # transformers' name of a decoder's classification head

    def __post_init__(self) -> None:
        super().__post_init__()  # type: ignore[misc]
        for name in ("lora_r", "lora_alpha"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BenchError(f"{type(self).__name__}: {name} must be an integer >= 1, got {value!r}")
        dropout = self.lora_dropout
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise BenchError(f"{type(self).__name__}: lora_dropout must be a number in [0, 1), got {dropout!r}")
        targets = self.lora_target_modules
        if isinstance(targets, str):
            targets = (targets,)
        if not targets or not all(isinstance(t, str) and t for t in targets):
            raise BenchError(
                f"{type(self).__name__}: lora_target_modules must be a list of module names (e.g. "
                f"{', '.join(ALL_LINEAR[:4])}), got {self.lora_target_modules!r}"
            )
        object.__setattr__(self, "lora_target_modules", tuple(targets))  # a YAML list, kept hashable

    def check_supported(self) -> None:
        require_peft()
        super().check_supported()  # type: ignore[misc]

    def with_lora(self, model: Any) -> Any:
        """`model` wrapped by peft: adapters on the target modules, the head trained in full, the rest frozen."""
        require_peft()
        from peft import LoraConfig, TaskType, get_peft_model

        names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
        missing = sorted(set(self.lora_target_modules) - names)
        if missing:
            raise BenchError(
                f"lora_target_modules {', '.join(missing)} are not modules of {type(model).__name__}; "
                f"its linear layers include {', '.join(sorted(n for n in names if n.endswith('_proj')))}"
            )
        # Gradient checkpointing (the protocol's option, or the batch probe's) recomputes each block from its input:
        # with every weight below the adapters frozen, that input must require grad or the reentrant variant would
        # return no gradient at all. A hook on the embeddings' output, harmless without checkpointing.
        model.enable_input_require_grads()
        config = LoraConfig(
            task_type=TaskType.SEQ_CLS,
            r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_dropout=float(self.lora_dropout),
            target_modules=list(self.lora_target_modules),
            modules_to_save=[self.head_module],
        )
        return get_peft_model(model, config)

    def run_facts(self, model: Any) -> dict[str, Any]:
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        return {
            **super().run_facts(model),  # type: ignore[misc]
            "lora_r": self.lora_r,
            "lora_alpha": self.lora_alpha,
            "lora_dropout": float(self.lora_dropout),
            "lora_target_modules": list(self.lora_target_modules),
            "trainable_params": trainable,
        }

    def model_config(self, model: Any) -> Any:
        base = getattr(model, "get_base_model", None)
        return super().model_config(base() if base else model)  # type: ignore[misc]
