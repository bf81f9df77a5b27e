"""Runners for pretrained Hugging Face checkpoints: RoBERTa (head, head+tail truncation), Longformer, ModernBERT."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from bench.errors import BenchError
from bench.runners import architectures, locate
from bench.runners.base import TransformerRunner, label_config
from bench.runners.mixins import GlobalFirstToken, HeadTail
from bench.runners.registry import register_runner
from bench.runners.shapes import FullAttention, Shape, SlidingWindow

ATTENTION_KERNELS = ("auto", "sdpa", "eager", "flex_attention", "flash_attention_2")  # transformers' names


@dataclass(frozen=True)
class PretrainedRunner(TransformerRunner):
    """A checkpoint loaded with `from_pretrained`; `model_id` is a hub id or a local folder, found where
    `bench.runners.locate` looks (a folder, --models-dir, the Hugging Face cache, a package that ships it) before
    the hub.

    `random_init`: the same architecture with random weights, from the config bench bundles
    (`bench.runners.architectures`): no network, no cache; the checkpoint's tokenizer where it is on disk, else one
    of its family with its vocabulary size trained on the suite's text. For cost measurements only: such a model
    has learned nothing before fine-tuning, so its accuracy says nothing about the checkpoint's."""

    model_id: str = ""
    # Runs Python code shipped with the checkpoint: only when a suite sets it, and `bench run` warns when it does.
    trust_remote_code: bool = False
    random_init: bool = False
    # the attention kernels (ATTENTION_KERNELS): a measured choice, recorded in every run; None: the model's own
    # (Longformer's and BigBird's attention has no alternatives); auto: see `attention_kernels`
    attn_implementation: str | None = None
    # the hub commit (or branch or tag) `from_pretrained` loads; None: the hub's main. A local copy (a folder,
    # --models-dir, a package) is what it is: the record's checkpoint_revision says which was loaded
    revision: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.revision is not None and (not isinstance(self.revision, str) or not self.revision.strip()):
            raise BenchError(
                f"{type(self).__name__}: revision must be a commit hash, branch or tag, got {self.revision!r}"
            )
        for name in ("trust_remote_code", "random_init"):  # YAML's `no` is False, but a string "no" would be true
            if not isinstance(getattr(self, name), bool):
                raise BenchError(f"{type(self).__name__}: {name} must be true or false, got {getattr(self, name)!r}")
        if self.attn_implementation is not None and self.attn_implementation not in ATTENTION_KERNELS:
            raise BenchError(
                f"{type(self).__name__}: attn_implementation must be one of {', '.join(ATTENTION_KERNELS)}, got "
                f"{self.attn_implementation!r}"
            )

    @property
    def prepared_mask(self) -> bool:
        return self.mask_4d and self.attention_kernels() == "sdpa"  # the form SDPA takes; eager wants it additive

    def attention_kernels(self) -> str | None:
        """The kernels the model is built with: `attn_implementation`, with auto resolved here (a GPU: FlashAttention
        2 where flash-attn is installed, else FlexAttention, both of which run a sliding window as a window; a CPU:
        SDPA)."""
        if self.attn_implementation != "auto":
            return self.attn_implementation
        import torch

        if not torch.cuda.is_available():
            return "sdpa"
        return "flash_attention_2" if importlib.util.find_spec("flash_attn") else "flex_attention"

    @property
    def init(self) -> str:
        return "random" if self.random_init else "pretrained"

    @property
    def model_name(self) -> str:
        return f"{self.model_id} architecture, random weights" if self.random_init else self.model_id

    @property
    def checkpoint(self) -> str:
        """What `from_pretrained` loads: a local copy of `model_id` where there is one, else the id (the hub)."""
        return locate.resolve(self.model_id)

    def build_tokenizer(self, corpus):
        from transformers import AutoTokenizer

        from bench.runners.tokenizers import labelled, train_like

        where = locate.local_checkpoint(self.model_id) if self.random_init else self.checkpoint
        if where is None:  # random init, no copy on disk: a stand-in with the real vocabulary, trained on the suite
            return train_like(corpus, architectures.architecture(self.model_id))
        tokenizer = AutoTokenizer.from_pretrained(where, trust_remote_code=self.trust_remote_code, **self._revision())
        return labelled(tokenizer, f"{self.model_id} (from {where})" if where != self.model_id else self.model_id)

    def build_model(self, label_names: Sequence[str]):
        from transformers import AutoModelForSequenceClassification

        return self.load(AutoModelForSequenceClassification, label_config(label_names))

    def build_encoder(self, label_names: Sequence[str]):
        """The bare encoder (no pooler, no head), for runners that put their own head on it (chunks)."""
        from transformers import AutoModel

        return self.load(AutoModel, {}, add_pooling_layer=False)

    def load(self, auto_class: Any, config_changes: dict[str, Any], **model_kwargs: Any):
        """`auto_class` built from the checkpoint, or with random weights from the bundled architecture: the one
        place where `random_init` decides. The runner's `config_overrides` apply to both."""
        overrides = dict(self.config_overrides())
        if self.attention_kernels() is not None:  # a loading option, not a config value
            model_kwargs["attn_implementation"] = self.attention_kernels()
        if self.random_init:
            config = self.architecture_config(**config_changes, **overrides)
            model = auto_class.from_config(config, trust_remote_code=self.trust_remote_code, **model_kwargs)
        else:
            model = auto_class.from_pretrained(
                self.checkpoint,
                trust_remote_code=self.trust_remote_code,
                **self._revision(),
                **config_changes,
                **overrides,
                **model_kwargs,
            )
        self._check_positions(model.config)  # where the config was not at hand before the sweep started
        return model

    def architecture_config(self, **changes: Any):
        """The config a random-init model is built from: bench's bundled one for `model_id`, else the checkpoint's
        config.json where a local copy has one; `changes` on top."""
        if self.model_id in architectures.bundled():
            return architectures.architecture(self.model_id).build_config(**changes)
        where = locate.local_checkpoint(self.model_id)
        if where is None:
            architectures.architecture(self.model_id)  # raises: says what is bundled and how to add a local copy
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(
            where, trust_remote_code=self.trust_remote_code, **self._revision(), **changes
        )

    def _revision(self) -> dict[str, str]:
        return {"revision": self.revision} if self.revision else {}

    def checkpoint_revision(self, model: Any) -> str | None:
        """The weights loaded: "random init" (bundled architecture), the package and version a packaged copy came
        from, "local folder <path>", or the hub commit they came from (the snapshot `from_pretrained` read in the
        Hugging Face cache; transformers 5 no longer keeps it on the config)."""
        if self.random_init:
            return "random init"
        where = self.checkpoint
        packaged = locate.PACKAGED.get(self.model_id)
        if packaged is not None and where == str(locate.extract_packaged(self.model_id) or ""):
            return f"package {packaged.distribution or packaged.module} {locate.package_version(packaged)}"
        if Path(where).expanduser().is_dir():  # a folder (not the hub cache, which is found by id): no commit
            return f"local folder {where}"
        return locate.cached_commit(self.model_id, self.revision) or "unknown (no snapshot in the Hugging Face cache)"

    def config_overrides(self) -> dict[str, Any]:
        return {}

    def positions_needed(self) -> int:
        """The longest sequence the model itself is given (a chunked runner gives it one chunk at a time)."""
        return self.max_length

    def read_config(self, local_only: bool = True):
        """The model's config without building the model: the bundled architecture for random init, else the
        checkpoint's (from the hub too unless `local_only`); None where it cannot be read."""
        from transformers import AutoConfig

        try:
            if self.random_init:
                return self.architecture_config()
            return AutoConfig.from_pretrained(
                self.checkpoint, local_files_only=local_only, trust_remote_code=self.trust_remote_code
            )
        except Exception:
            if self.random_init:
                raise
            return None

    def check_supported(self) -> None:
        if self.attn_implementation == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
            raise BenchError(
                "attn_implementation flash_attention_2 needs the flash-attn package (a GPU build: pip install "
                "flash-attn); or use sdpa, flex_attention or auto"
            )
        # local copies only: planning a sweep must not wait on the network; a checkpoint not on disk yet is checked
        # again in the worker, once the model is loaded
        config = self.read_config(local_only=True)
        if config is not None:
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
    mask_4d: ClassVar[bool] = True
    attn_implementation: str | None = "sdpa"


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
    # its local layers computed as a window (FlexAttention's block mask or FlashAttention's window) on a GPU: under
    # SDPA they are a full L x L product under a mask, so its cost would not be ModernBERT's windowed cost
    attn_implementation: str | None = "auto"

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
