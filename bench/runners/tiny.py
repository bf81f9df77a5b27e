"""Tiny runners built from configs, with a tokenizer trained on the suite's own text: offline, fast, for the demo
suite, the tests and quick checks of any suite on a CPU."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from bench.runners.base import Runner, register_runner
from bench.runners.hf import GlobalFirstToken, HeadTail

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # RoBERTa's ids: <s>=0, <pad>=1, </s>=2


def train_tokenizer(corpus, vocab_size: int):
    """A BPE tokenizer (whitespace pre-tokenized) trained on `corpus`, wrapped for transformers; trained once per
    corpus and vocabulary size, then loaded from the cache."""
    import tokenizers
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from bench.encoding import trained_once

    def train(texts: list[str]) -> Tokenizer:
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
        tok.decoder = decoders.BPEDecoder()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False)
        tok.train_from_iterator(texts, trainer=trainer)
        return tok

    recipe = f"bpe-whitespace/{vocab_size}/{'|'.join(SPECIALS)}/tokenizers-{tokenizers.__version__}"
    tok = trained_once(recipe, corpus(), train)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        cls_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=10**9,
    )


@dataclass(frozen=True, kw_only=True)
class TinyRobertaRunner(Runner):
    """A RoBERTa of a few layers, randomly initialised (from the run's seed)."""

    family: ClassVar[str] = "tiny-roberta"
    vocab_size: int = 4000
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 2

    def build_tokenizer(self, corpus):
        return train_tokenizer(corpus, self.vocab_size)

    def _config_kwargs(self, label_names: Sequence[str]) -> dict:
        return dict(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            intermediate_size=2 * self.hidden_size,
            max_position_embeddings=self.max_length + 2,  # RoBERTa positions start after the padding index
            type_vocab_size=1,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={n: i for i, n in enumerate(label_names)},
        )

    def build_model(self, label_names: Sequence[str]):
        from transformers import RobertaConfig, RobertaForSequenceClassification

        config = RobertaConfig(**self._config_kwargs(label_names))
        config._attn_implementation = "sdpa"
        return RobertaForSequenceClassification(config)

    def describe(self) -> str:
        return (
            f"tiny RoBERTa ({self.num_layers}x{self.hidden_size}), max length {self.max_length}, "
            f"{self.truncation} truncation"
        )


@dataclass(frozen=True, kw_only=True)
class TinyLongformerRunner(GlobalFirstToken, TinyRobertaRunner):
    """A Longformer of a few layers with sliding-window attention and global attention on <s>."""

    family: ClassVar[str] = "tiny-longformer"
    attention_window: int = 64  # type: ignore[misc]

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_window()

    def build_model(self, label_names: Sequence[str]):
        from transformers import LongformerConfig, LongformerForSequenceClassification

        config = LongformerConfig(attention_window=self.attention_window, **self._config_kwargs(label_names))
        return LongformerForSequenceClassification(config)

    def describe(self) -> str:
        return (
            f"tiny Longformer ({self.num_layers}x{self.hidden_size}), max length {self.max_length}, "
            f"window {self.attention_window}, global attention on <s>"
        )


@dataclass(frozen=True, kw_only=True)
class TinyRobertaHeadTailRunner(HeadTail, TinyRobertaRunner):
    """The tiny RoBERTa with head+tail truncation, the counterpart of roberta-headtail-512."""

    family: ClassVar[str] = "tiny-roberta-headtail"


register_runner("tiny-roberta-128", max_length=128)(TinyRobertaRunner)
register_runner("tiny-roberta-512", max_length=512)(TinyRobertaRunner)
register_runner("tiny-longformer-2048", max_length=2048, attention_window=32)(TinyLongformerRunner)
register_runner("tiny-roberta-headtail-512", max_length=512, head_tokens=128)(TinyRobertaHeadTailRunner)
