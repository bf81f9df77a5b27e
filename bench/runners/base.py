"""The runner contracts: a runner says how to build a model and tokenizer and how a document becomes model input;
everything else (optimizer, schedule, splits, evaluation) belongs to the protocol in `bench.train`.

`Runner` is what every runner tells the sweep, the records and `bench list`; `TransformerRunner` is a transformers
model trained by the Trainer protocol, `EstimatorRunner` a scikit-learn model trained by the estimator protocol."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from bench.errors import BenchError
from bench.runners.shapes import Shape, bert_like

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class Runner(abc.ABC):
    """What every runner tells the sweep, the records and `bench list`, whatever kind of model it trains."""

    family: ClassVar[str] = "custom"  # models of one family share a line in comparison plots
    truncation: ClassVar[str] = "head"

    @property
    def attention_window(self) -> int | None:
        return None

    @property
    def init(self) -> str:
        """Where the weights start: `pretrained` (a checkpoint), `random` (a pretrained runner's architecture with
        random weights: its cost is real, its accuracy meaningless) or `scratch` (a model meant to be trained from
        nothing: the tiny runners, TF-IDF)."""
        return "scratch"

    @property
    def content_tokens(self) -> int | None:
        """How many document tokens the model reads at most (None: the whole document).

        The kept tokens are a head and, for head+tail truncation, a tail: the demo's expected accuracy
        (`bench.data.synthetic.expected_accuracy`) holds for exactly such runners.
        """
        return None

    @abc.abstractmethod
    def describe(self) -> str:
        """One line for `bench list` and the sweep's progress output."""

    def params(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def check_supported(self) -> None:
        """Refuse settings the model cannot run (e.g. a max length beyond its positions) before a sweep starts;
        raise BenchError. Must not download anything. Default: nothing to check."""
        return None

    def run_facts(self, model: Any) -> dict[str, Any]:
        """Facts about the finished run that only the runner knows (merged into its record); default none."""
        return {}

    def checkpoint_revision(self, model: Any) -> str | None:
        """Which weights `model` holds, for the record: a hub commit, a folder, a package version; None for a
        runner that loads no checkpoint (tiny models, TF-IDF)."""
        return None


def label_config(label_names: Sequence[str]) -> dict[str, Any]:
    """The config values of a classification head over `label_names` (index = label id), for any transformers model."""
    return {
        "num_labels": len(label_names),
        "id2label": dict(enumerate(label_names)),
        "label2id": {n: i for i, n in enumerate(label_names)},
    }


@dataclass(frozen=True)
class TransformerRunner(Runner):
    """A transformers model trained by `bench.train.trainer` (the HF Trainer). Subclasses are frozen dataclasses whose
    fields are the runner's parameters."""

    max_length: int
    # the model's forward needs an attention mask even where a batch has no padding (the chunk classifier does)
    needs_attention_mask: ClassVar[bool] = False
    # the model takes a prepared [batch, 1, 1, length] boolean mask as it is (RoBERTa and BERT under SDPA):
    # transformers then builds none of its own, and skips its all-ones check of a 2D mask, a host sync per forward
    mask_4d: ClassVar[bool] = False

    @property
    def prepared_mask(self) -> bool:
        """Whether the collator hands the model its mask prepared as [batch, 1, 1, length] (`mask_4d`)."""
        return self.mask_4d

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
        return with_specials(ids[: self.max_length - 2], tokenizer)

    @property
    def content_tokens(self) -> int | None:
        return self.max_length - 2

    @property
    def pad_to_multiple_of(self) -> int | None:
        """Batches are padded to a multiple of this (models with windowed attention need it)."""
        return None

    def extra_inputs(self, input_ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """Additional model inputs computed per padded batch of shape [batch, seq]."""
        return {}

    def model_config(self, model: Any) -> Any:
        """The transformers config of the model `build_model` returned (a wrapper's: its encoder's), which `bench
        profile` reads the vocabulary, special-token ids and shape from. Default: `model.config`."""
        config = getattr(model, "config", None)
        if config is None:
            raise BenchError(
                f"{type(model).__name__} has no .config: {type(self).__name__} must override model_config(model) "
                "to return the config of the transformer inside it"
            )
        return config

    def model_shape(self, config: Any) -> Shape | None:
        """What the model's FLOPs depend on, from `model_config(model)`; None where unknown (no FLOPs, no MFU).
        Default: a BERT-like encoder (2-matrix feed-forward) with full attention in every layer. A runner whose model
        attends otherwise or has another feed-forward overrides it."""
        return bert_like(config)

    @property
    def model_name(self) -> str:
        """What `describe` calls the model: a checkpoint id, or a description of a model built from a config."""
        return self.family

    def describe(self) -> str:
        window = f", window {self.attention_window}" if self.attention_window else ""
        return f"{self.model_name}, max length {self.max_length}{window}, {self.truncation} truncation"


@dataclass(frozen=True)
class EstimatorRunner(Runner):
    """A scikit-learn model trained by `bench.train.estimator`: features fitted once on train, then one classifier per
    hyper-parameter setting, the setting chosen on validation, test predicted once."""

    max_length: ClassVar[int | None] = None  # reads the whole document
    truncation: ClassVar[str] = "none"

    @abc.abstractmethod
    def build_features(self) -> Any:
        """An unfitted scikit-learn transformer: a list of n texts -> a feature matrix of shape [n, n_features]."""

    @abc.abstractmethod
    def build_classifiers(self, seed: int, n_labels: int) -> list[tuple[dict[str, Any], Any]]:
        """The candidates tried on validation, in order: (hyper-parameters, unfitted classifier with predict_proba)."""

    def count_tokens(self, features: Any, texts: Sequence[str]) -> list[int]:
        """Document lengths in the features' own tokens (for the predictions' n_tokens); default: whitespace words."""
        return [len(t.split()) for t in texts]


RANDOM_INIT_SUFFIX = "@random-init"


def run_name(name: str, runner: Runner) -> str:
    """The name runs of `runner` (registered or aliased as `name`) are recorded under: a random-init run gets a suffix,
    so it never shares a record, a table row or a plot line with the pretrained runs of the same runner."""
    if runner.init == "random" and not name.endswith(RANDOM_INIT_SUFFIX):
        return name + RANDOM_INIT_SUFFIX
    return name


def with_specials(ids: list[int], tokenizer: PreTrainedTokenizerBase) -> list[int]:
    # Rather than re-tokenizing per max length, documents are tokenized once without special tokens and each
    # runner adds the <s>/</s> (or [CLS]/[SEP]) pair around the part it keeps.
    first = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    last = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    return [t for t in (first,) if t is not None] + ids + [t for t in (last,) if t is not None]
