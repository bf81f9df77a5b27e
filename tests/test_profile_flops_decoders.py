"""Model FLOPs of decoders (grouped-query attention, gated feed-forward, causal attention) against hand counts and
the matmuls a tiny Qwen3 and a tiny Llama really run."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModel, LlamaConfig, Qwen3Config

from bench.profile import flops
from bench.runners import build_runner
from bench.runners.shapes import Causal, CausalWindow, FullAttention, Shape, decoder_like

SMALL = dict(
    vocab_size=100, hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4,
    num_key_value_heads=2, pad_token_id=1, bos_token_id=0, eos_token_id=2, attn_implementation="eager",
)  # fmt: skip


def test_qwen3_training_flops_per_token_by_hand():
    shape = build_runner("qwen3-0.6b-lora", random_init=True).model_shape(Qwen3Config(**_qwen3_06b()))
    n = 28 * (2 * 1024 * 16 * 128 + 2 * 1024 * 8 * 128 + 3 * 1024 * 3072)  # Q, O; K, V; gate, up, down
    assert shape.dense_params == n == 440_401_920
    # causal: (2048 + 1) / 2 keys per query, 16 heads of 128 each computing Q·Kᵀ and attention·V
    expected = 6 * n + 12 * (16 * 128) * 28 * (2049 / 2)
    assert flops.flops_per_token(shape, 2048, "train") == pytest.approx(expected) == pytest.approx(3_347_398_656)


def _qwen3_06b() -> dict:
    from bench.runners.architectures import architecture

    return {k: v for k, v in architecture("Qwen/Qwen3-0.6B").config.items() if k != "model_type"}


def test_causal_keys():
    assert Causal().keys(1) == 1 and Causal().keys(4) == 2.5  # queries see 1, 2, 3, 4 keys
    assert CausalWindow(2).keys(4) == (1 + 2 + 2 + 2) / 4
    assert CausalWindow(8).keys(4) == Causal().keys(4)
    config = Qwen3Config(**SMALL, use_sliding_window=True, sliding_window=2, max_window_layers=1)
    kinds = [type(a) for a in decoder_like(config).attention]
    assert kinds == [type(a) for a in decoder_like(config).attention] and CausalWindow in kinds
    assert decoder_like(object()) is None


def test_encoder_shapes_are_unchanged_by_the_attention_widths():
    full = Shape(64, 128, (FullAttention(),) * 2)
    assert (full.q_width, full.k_width) == (64, 64) and full.dense_params == 2 * (4 * 64 * 64 + 2 * 64 * 128)


def counted_forward_flops(model, length: int, batch: int = 2) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    ids = torch.randint(5, 100, (batch, length), generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(input_ids=ids, attention_mask=torch.ones_like(ids))
    return counter.get_total_flops()


@pytest.mark.parametrize("config", [Qwen3Config(**SMALL, head_dim=16), LlamaConfig(**SMALL)], ids=["qwen3", "llama"])
@pytest.mark.parametrize("length", [16, 64])
def test_decoder_shape_matches_the_matmuls_a_tiny_decoder_runs(config, length):
    """Dense part exactly; attention as eager computes it: the full L x L product under the causal mask, twice
    the causal count the model FLOPs use (RMSNorm, RoPE and SwiGLU's products are elementwise: no matmuls)."""
    torch.manual_seed(0)
    model = AutoModel.from_config(config).eval()
    shape = build_runner("qwen3-0.6b-lora").model_shape(config)
    assert shape.q_width == 4 * config.head_dim and shape.k_width == 2 * config.head_dim
    as_executed = Shape(shape.hidden, shape.intermediate, (FullAttention(),) * shape.n_layers, True,
                        shape.query_width, shape.kv_width)  # fmt: skip
    counted = counted_forward_flops(model, length, batch=2)
    assert counted == 2 * length * flops.flops_per_token(as_executed, length, "infer")
    causal_saving = 4 * shape.q_width * shape.n_layers * (length - (length + 1) / 2)
    assert flops.flops_per_token(as_executed, length, "infer") - flops.flops_per_token(shape, length, "infer") == (
        pytest.approx(causal_saving)
    )
