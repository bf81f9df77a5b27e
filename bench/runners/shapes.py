"""What a model's FLOPs depend on, declared by its runner: width, feed-forward, and which keys each layer attends to.

Pure Python (no torch): a runner builds a `Shape` from its model's config (`TransformerRunner.model_shape`), and
`bench.profile.flops` turns it into FLOPs. Each attention pattern says how many keys a query attends to on
average in a sequence of `seq_len` tokens, counting what the pattern computes (keys it masks out per batch, such as
padding, are still counted; padding tokens themselves are not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol


class Attention(Protocol):
    def keys(self, seq_len: int) -> float:
        """Keys a query attends to, averaged over the `seq_len` queries."""


@dataclass(frozen=True)
class FullAttention:
    """Every token attends to every token."""

    def keys(self, seq_len: int) -> float:
        return float(seq_len)


@dataclass(frozen=True)
class SlidingWindow:
    """`window` keys around each token (window/2 on each side, plus itself), and `global_tokens` tokens (Longformer's
    <s>) that attend to every token and are attended to by every token: 2 keys per token each, amortised."""

    window: int
    global_tokens: int = 0

    def keys(self, seq_len: int) -> float:
        # the interior count, as the kernels compute it: tokens near the ends see fewer real keys
        return float(min(seq_len, self.window + 1) + 2 * self.global_tokens)


@dataclass(frozen=True)
class Causal:
    """A decoder's causal attention: the query at position i attends to keys 0..i, (L + 1) / 2 on average. Counted
    as the model needs it: kernels that compute the full L x L product under a causal mask (eager, SDPA's math path)
    execute about twice this, which HFU > MFU shows."""

    def keys(self, seq_len: int) -> float:
        return (seq_len + 1) / 2


@dataclass(frozen=True)
class BlockSparse:
    """BigBird's block-sparse attention (ITC), counted from transformers' `bigbird_block_sparse_attention`.

    The sequence is padded to n blocks of `block_size`. Query blocks 0 and n-1 are global: they attend to every key
    (counted: the kernel computes them; they add 2 · block_size keys per token on average). Blocks 1 and
    n-2 attend to 4 blocks (3 sliding, overlapping one global, plus the other global) and `random_blocks` random
    ones; every other block to 5 (3 sliding, 2 global) and `random_blocks` random ones. Random blocks are computed
    in evaluation too (transformers points them at block 0 there), so they are counted in both modes. transformers
    runs full attention instead on a sequence of at most (5 + 2 · random_blocks) · block_size tokens.
    """

    block_size: int
    random_blocks: int

    @property
    def min_sparse_length(self) -> int:
        return (5 + 2 * self.random_blocks) * self.block_size + 1

    def keys(self, seq_len: int) -> float:
        b, r = self.block_size, self.random_blocks
        padded = math.ceil(seq_len / b) * b
        if padded < self.min_sparse_length:
            return float(seq_len)  # transformers falls back to full attention
        n = padded // b
        total = 2 * b * padded + 2 * b * (4 + r) * b + (n - 4) * b * (5 + r) * b
        return total / padded


@dataclass(frozen=True)
class WithinChunks:
    """`inner` attention applied to each chunk of `chunk_length` tokens on its own (a chunk encoder)."""

    inner: Attention
    chunk_length: int

    def keys(self, seq_len: int) -> float:
        return self.inner.keys(min(seq_len, self.chunk_length))


@dataclass(frozen=True)
class Shape:
    """A transformer's shape as its FLOPs see it: `hidden` width, feed-forward width `intermediate`, one attention
    pattern per layer. A gated (GLU) feed-forward projects d -> 2f and back f -> d: 3·d·f weights instead of 2·d·f.

    `query_width` is heads x head size of the queries (and of the output projection's input), `kv_width` kv heads x
    head size of the keys and values: both `hidden` in an encoder; grouped-query attention (Llama 3, Qwen3) has
    fewer kv heads than query heads, and Qwen3-0.6B's heads are wider than hidden / heads (16 x 128 on 1024)."""

    hidden: int
    intermediate: int
    attention: tuple[Attention, ...]
    gated_ffn: bool = False
    query_width: int | None = None
    kv_width: int | None = None

    @property
    def q_width(self) -> int:
        return self.query_width or self.hidden

    @property
    def k_width(self) -> int:
        return self.kv_width or self.hidden

    @property
    def n_layers(self) -> int:
        return len(self.attention)

    @property
    def dense_params(self) -> int:
        """N: the weights every token is multiplied by (Q, K, V, output and the feed-forward; biases, layer norms,
        embeddings and the classification head left out): per layer 2·d·q (Q and output) + 2·d·kv (K and V)."""
        ffn = (3 if self.gated_ffn else 2) * self.hidden * self.intermediate
        attention = 2 * self.hidden * self.q_width + 2 * self.hidden * self.k_width
        return self.n_layers * (attention + ffn)

    def attention_keys(self, seq_len: int) -> float:
        """Keys a token attends to, summed over the layers."""
        return sum(layer.keys(seq_len) for layer in self.attention)


def bert_like(config: Any, attention: Attention | None = None) -> Shape | None:
    """The shape of a BERT-like config (`num_hidden_layers`, `hidden_size`, `intermediate_size`; a 2-matrix
    feed-forward), with `attention` (default: full) in every layer; None where the config lacks the fields."""
    try:
        n_layers, hidden = int(config.num_hidden_layers), int(config.hidden_size)
        intermediate = int(config.intermediate_size)
    except (AttributeError, TypeError, ValueError):
        return None
    return Shape(hidden, intermediate, (attention or FullAttention(),) * n_layers)


def decoder_like(config: Any) -> Shape | None:
    """The shape of a Llama-like decoder config (Llama, Qwen3, Mistral): grouped-query attention with
    `num_key_value_heads` heads of `head_dim` (default hidden / heads) for keys and values, a gated (SwiGLU)
    feed-forward of three d x f matrices, causal attention in every layer (sliding-window layers, where a config
    declares `layer_types`, see `sliding_window` keys); None where the config lacks the fields."""
    try:
        n_layers, hidden = int(config.num_hidden_layers), int(config.hidden_size)
        intermediate, heads = int(config.intermediate_size), int(config.num_attention_heads)
        kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
        head_dim = int(getattr(config, "head_dim", None) or hidden // heads)
    except (AttributeError, TypeError, ValueError):
        return None
    types = getattr(config, "layer_types", None) or ["full_attention"] * n_layers
    window = getattr(config, "sliding_window", None)
    attention = tuple(CausalWindow(int(window)) if t == "sliding_attention" and window else Causal() for t in types)
    return Shape(hidden, intermediate, attention, True, heads * head_dim, kv_heads * head_dim)


@dataclass(frozen=True)
class CausalWindow:
    """Causal attention to the last `window` tokens (Mistral's, Qwen's sliding-window layers)."""

    window: int

    def keys(self, seq_len: int) -> float:
        w = min(self.window, seq_len)  # queries before position w see i + 1 keys, the rest w
        return (w * (w + 1) / 2 + (seq_len - w) * w) / seq_len
