"""The Runner contract and its registry: a runner says how to build a model and tokenizer and how a document
becomes model input; everything else (optimizer, schedule, splits, evaluation) belongs to the protocol."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from bench.errors import BenchError
from bench.registry import Registry

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class Runner(abc.ABC):
    """Base class of every runner. Subclasses are frozen dataclasses whose fields are the runner's parameters."""

    max_length: int

    family: ClassVar[str] = "custom"  # models of one family share a line in comparison plots
    truncation: ClassVar[str] = "head"

    def __post_init__(self) -> None:
        if isinstance(self.max_length, bool) or not isinstance(self.max_length, int) or self.max_length < 8:
            raise BenchError(f"{type(self).__name__}: max_length must be an integer >= 8, got {self.max_length!r}")

    @abc.abstractmethod
    def build_tokenizer(self, corpus: Callable[[], Iterable[str]]) -> PreTrainedTokenizerBase:
        """The tokenizer. `corpus()` yields the suite's training texts, for runners that train their own."""

    @abc.abstractmethod
    def build_model(self, label_names: Sequence[str]) -> PreTrainedModel:
        """A sequence-classification model with len(label_names) outputs (logits of shape [batch, n_labels])."""

    def encode(self, ids: list[int], tokenizer: PreTrainedTokenizerBase) -> list[int]:
        """Model input ids from a document's full token ids (no special tokens). Default: keep the head."""
        return _with_specials(ids[: self.max_length - 2], tokenizer)

    @property
    def attention_window(self) -> int | None:
        return None

    @property
    def pad_to_multiple_of(self) -> int | None:
        """Batches are padded to a multiple of this (models with windowed attention need it)."""
        return None

    def extra_inputs(self, input_ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """Additional model inputs computed per padded batch of shape [batch, seq]."""
        return {}

    def describe(self) -> str:
        window = f", window {self.attention_window}" if self.attention_window else ""
        model = getattr(self, "model_id", None) or self.family
        return f"{model}, max length {self.max_length}{window}, {self.truncation} truncation"

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _with_specials(ids: list[int], tokenizer: PreTrainedTokenizerBase) -> list[int]:
    # Rather than re-tokenizing per max length, documents are tokenized once without special tokens and each
    # runner adds the <s>/</s> (or [CLS]/[SEP]) pair around the part it keeps.
    first = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    last = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    return [t for t in (first,) if t is not None] + ids + [t for t in (last,) if t is not None]


@dataclass(frozen=True)
class RunnerEntry:
    """A registered runner name: its class and the parameter values that name stands for."""

    cls: type[Runner]
    params: dict[str, Any]
    source: str = "bench"  # the distribution a plugin runner comes from

    def build(self, overrides: dict[str, Any] | None = None, name: str = "") -> Runner:
        declared = {f.name for f in dataclasses.fields(self.cls)}
        unknown = sorted(set(overrides or {}) - declared)
        if unknown:
            raise BenchError(
                f"runner '{name}' has no parameter(s) {', '.join(unknown)}; its parameters: {', '.join(sorted(declared))}"
            )
        try:
            return self.cls(**{**self.params, **(overrides or {})})
        except TypeError as err:
            raise BenchError(f"runner '{name}': {err}") from None


RUNNERS: Registry[RunnerEntry] = Registry("runner")


def register_runner(name: str, **params: Any) -> Callable[[type[Runner]], type[Runner]]:
    """Class decorator: `@register_runner("longformer-512-4096", attention_window=512, max_length=4096)`."""

    def decorator(cls: type[Runner]) -> type[Runner]:
        RUNNERS.add(name, RunnerEntry(cls, params, source=_CURRENT_SOURCE[0]))
        return cls

    return decorator


_CURRENT_SOURCE = ["bench"]  # set while a plugin's entry point is being imported
