"""Decoder classifiers fine-tuned with LoRA: Qwen3-0.6B and Llama-3.2-1B through AutoModelForSequenceClassification
(last-token pooling), and a tiny Qwen3-style decoder built from a config for the demo suite and the tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from bench.runners import architectures
from bench.runners.base import TransformerRunner, label_config
from bench.runners.hf import PretrainedRunner
from bench.runners.lora import Lora
from bench.runners.registry import register_runner
from bench.runners.shapes import Shape, decoder_like
from bench.runners.tokenizers import train_tokenizer


class LastTokenPooling:
    """What transformers' decoder classifiers (`GenericForSequenceClassification`, transformers 5) pool: the logits
    of the rightmost token that is not `config.pad_token_id`, so right padding (the collator's) leaves each
    document's logits as they are unpadded. The pad id must therefore be set, and be the tokenizer's."""

    def describe(self) -> str:
        return f"{super().describe()}, last-token pooling, LoRA r={self.lora_r} alpha={self.lora_alpha}"  # type: ignore[misc]

    def model_shape(self, config: Any) -> Shape | None:
        return decoder_like(config)


@dataclass(frozen=True, kw_only=True)
class DecoderLoraRunner(LastTokenPooling, Lora, PretrainedRunner):
    """A pretrained decoder with LoRA adapters and a fully trained classification head (`score`).

    A document becomes [<bos>] + head tokens + <eos> (Qwen3 has no bos token). Padding is the tokenizer's padding
    token, or its eos where it has none (Llama 3.2): then the pooled token is the document's last one before the
    trailing eos, which pooling cannot tell from padding."""

    family: ClassVar[str] = "decoder-lora"
    attn_implementation: str | None = "sdpa"  # causal SDPA: FlashAttention's kernel on a GPU where there is no padding

    @property
    def pad_token_id(self) -> int:
        """The padding id of the checkpoint's tokenizer (bundled: the real tokenizer's, or its eos where it has none)."""
        specials = architectures.architecture(self.model_id).special_tokens
        return (specials.get("pad") or specials["eos"])[1]

    def build_tokenizer(self, corpus):
        tokenizer = super().build_tokenizer(corpus)
        if tokenizer.pad_token is None:  # Llama's has none: pad with eos, which the pooling then skips
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer

    def build_model(self, label_names: Sequence[str]):
        self.check_supported()  # peft installed: one line naming the extra, before minutes of loading
        model = super().build_model(label_names)
        model.config.pad_token_id = self.pad_token_id  # read by the last-token pooling at every forward
        return self.with_lora(model)


@dataclass(frozen=True, kw_only=True)
class TinyDecoderLoraRunner(LastTokenPooling, Lora, TransformerRunner):
    """A Qwen3-style decoder of a few layers built from a config (grouped-query attention with `num_kv_heads` key/
    value heads, a gated SwiGLU feed-forward, RoPE), random weights, a tokenizer trained on the suite, LoRA on top:
    for tests and quick checks (LoRA on random weights learns through the adapters and the head only)."""

    family: ClassVar[str] = "tiny-decoder-lora"
    vocab_size: int = 4000
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    attn_implementation: str = "sdpa"

    @property
    def model_name(self) -> str:
        return f"tiny decoder ({self.num_layers}x{self.hidden_size}, {self.num_heads} heads, {self.num_kv_heads} kv)"

    def build_tokenizer(self, corpus):
        return train_tokenizer(corpus, self.vocab_size)  # <s>=0, <pad>=1, </s>=2

    def build_config(self, label_names: Sequence[str], **changes: Any):
        """The model's config: the runner's sizes, the trained tokenizer's special ids, `changes` on top."""
        from transformers import AutoConfig

        settings = dict(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            intermediate_size=2 * self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            num_key_value_heads=self.num_kv_heads,
            head_dim=self.hidden_size // self.num_heads,
            max_position_embeddings=self.max_length,
            tie_word_embeddings=True,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            **label_config(label_names),
        )
        return AutoConfig.for_model("qwen3", **{**settings, **changes})

    def build_model(self, label_names: Sequence[str]):
        from transformers import AutoModelForSequenceClassification

        self.check_supported()
        config = self.build_config(label_names)
        config._attn_implementation = self.attn_implementation
        return self.with_lora(AutoModelForSequenceClassification.from_config(config))


register_runner("qwen3-0.6b-lora", model_id="Qwen/Qwen3-0.6B", max_length=2048)(DecoderLoraRunner)
register_runner("llama-3.2-1b-lora", model_id="meta-llama/Llama-3.2-1B", max_length=2048)(DecoderLoraRunner)
register_runner("tiny-decoder-lora", max_length=256, lora_r=4, lora_alpha=8, lora_dropout=0.0)(TinyDecoderLoraRunner)
