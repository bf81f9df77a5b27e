"""Model FLOPs per token (`bench.profile.flops`) from the shape each runner declares (`bench.runners.shapes`): hand
counts for every family at its base size, the counted matmuls of tiny models, the device peaks and MFU."""

from __future__ import annotations

import pytest
import torch
from transformers import BigBirdConfig, LongformerConfig, ModernBertConfig, RobertaConfig

from bench.profile import flops
from bench.runners import build_runner
from bench.runners.shapes import BlockSparse, FullAttention, Shape, SlidingWindow, bert_like

D = 768  # every base model here is 768 wide
BERT_BASE_N = 12 * (4 * D * D + 2 * D * 3072)  # 84,934,656: Q, K, V, output, and the 768 -> 3072 -> 768 FFN
MODERNBERT_BASE_N = 22 * (4 * D * D + 3 * D * 1152)  # 110,297,088: Wqkv, Wo, the gated FFN (768 -> 2·1152 -> 768)


def train_per_token(dense_params: int, keys_over_layers: float) -> float:
    """6·N + 12·d·Σ_layers ctx: the hand count, written out once."""
    return 6 * dense_params + 12 * D * keys_over_layers


# BigBird base (block 64, 3 random) at 4096 = 64 blocks: query blocks 0 and 63 attend to all 4096 keys, blocks 1 and
# 62 to (4 + 3) blocks, the 60 others to (5 + 3) blocks: 2·64·4096 + 2·64·7·64 + 60·64·8·64 = 2,547,712 query-key
# pairs per layer over 4096 queries, 622 keys each on average.
BIGBIRD_KEYS = (2 * 64 * 4096 + 2 * 64 * 7 * 64 + 60 * 64 * 8 * 64) / 4096
# ModernBERT base at 8192: layers 0, 3, …, 21 global (8 of them), the other 14 see |i - j| <= 64: 129 keys.
MODERNBERT_KEYS = 8 * 8192 + 14 * 129

HAND_COUNTS = [
    # runner, config (base sizes, built offline), length, keys summed over layers, N, training FLOPs per token
    ("roberta-512", RobertaConfig(), 512, 12 * 512, BERT_BASE_N, 566_231_040),
    ("longformer-512-4096", LongformerConfig(attention_window=512), 4096, 12 * (513 + 2), BERT_BASE_N, 566_562_816),
    ("bigbird-4096", BigBirdConfig(block_size=64, num_random_blocks=3), 4096, 12 * 622, BERT_BASE_N, 578_396_160),
    ("modernbert-8192", ModernBertConfig(), 8192, MODERNBERT_KEYS, MODERNBERT_BASE_N, 1_282_406_400),
    ("roberta-chunks-4096", RobertaConfig(), 4096, 12 * 512, BERT_BASE_N, 566_231_040),  # chunks of 512
]


@pytest.mark.parametrize(("runner", "config", "length", "keys", "dense", "expected"), HAND_COUNTS)
def test_flops_per_token_match_hand_counts(runner, config, length, keys, dense, expected):
    shape = build_runner(runner).model_shape(config)
    assert shape.dense_params == dense
    assert shape.attention_keys(length) == pytest.approx(keys)
    assert train_per_token(dense, keys) == expected
    assert flops.flops_per_token(shape, length, "train") == pytest.approx(expected)
    assert flops.flops_per_token(shape, length, "infer") == pytest.approx(expected / 3)


def test_bigbird_keys_per_query():
    assert BIGBIRD_KEYS == 622
    sparse = BlockSparse(block_size=64, random_blocks=3)
    assert sparse.keys(4096) == 622 and sparse.min_sparse_length == 704 + 1
    # at most (5 + 2·3)·64 = 704 tokens transformers runs full attention; one token more is padded to 768 = 12 blocks
    assert sparse.keys(704) == 704 and sparse.keys(640) == 640
    assert sparse.keys(705) == (2 * 64 * 768 + 2 * 64 * 7 * 64 + 8 * 64 * 8 * 64) / 768 == 544
    assert build_runner("bigbird-4096").min_sparse_length == sparse.min_sparse_length


def test_sparse_families_are_no_longer_counted_as_full_attention():
    # the count before each family declared its shape: a BERT-like model with full attention and a 2·d·f FFN
    modernbert, bigbird = ModernBertConfig(), BigBirdConfig()
    old_modernbert = flops.flops_per_token(bert_like(modernbert), 8192, "train")
    old_bigbird = flops.flops_per_token(bert_like(bigbird), 4096, "train")
    assert old_modernbert == 6 * 22 * (4 * D * D + 2 * D * 1152) + 12 * D * 22 * 8192 == 2_205_941_760
    assert old_bigbird == train_per_token(BERT_BASE_N, 12 * 4096) == 962_592_768
    new_modernbert = flops.flops_per_token(build_runner("modernbert-8192").model_shape(modernbert), 8192, "train")
    new_bigbird = flops.flops_per_token(build_runner("bigbird-4096").model_shape(bigbird), 4096, "train")
    assert old_modernbert / new_modernbert == pytest.approx(1.72, abs=0.01)
    assert old_bigbird / new_bigbird == pytest.approx(1.66, abs=0.01)


def test_runners_read_their_shape_from_the_config():
    longformer = build_runner("longformer-512-4096")
    per_layer = LongformerConfig(num_hidden_layers=2, attention_window=[64, 128])
    assert longformer.model_shape(per_layer).attention == (SlidingWindow(64, 1), SlidingWindow(128, 1))
    full = BigBirdConfig(num_hidden_layers=2, attention_type="original_full")
    assert build_runner("bigbird-4096").model_shape(full).attention == (FullAttention(),) * 2
    # ModernBERT configs written before `layer_types`: global every n-th layer
    legacy = ModernBertConfig(num_hidden_layers=4)
    legacy.layer_types, legacy.global_attn_every_n_layers = None, 2
    shape = build_runner("modernbert-8192").model_shape(legacy)
    assert shape.gated_ffn and [type(a) for a in shape.attention] == [FullAttention, SlidingWindow] * 2
    chunks = build_runner("roberta-chunks-4096", {"max_length": 2048, "chunk_length": 256})
    assert chunks.model_shape(RobertaConfig()).attention_keys(2048) == 12 * 256
    assert chunks.model_shape(RobertaConfig()).attention_keys(100) == 12 * 100
    assert build_runner("roberta-512").model_shape(object()) is None  # not BERT-like: no FLOPs, not a guess


def test_flops_formula():
    full = Shape(hidden=64, intermediate=128, attention=(FullAttention(),) * 2)
    assert full.n_layers == 2 and full.dense_params == 2 * (4 * 64 * 64 + 2 * 64 * 128)
    train = flops.flops_per_token(full, 512, "train")
    assert train == 6 * full.dense_params + 12 * 2 * 64 * 512
    assert flops.flops_per_token(full, 512, "infer") == train / 3
    # full attention: the attention term grows with length; a 32-token window: constant once L > w
    assert flops.flops_per_token(full, 1024, "train") - train == 12 * 2 * 64 * 512
    windowed = Shape(64, 128, (SlidingWindow(32, global_tokens=1),) * 2)
    assert flops.flops_per_token(windowed, 1024, "train") == flops.flops_per_token(windowed, 4096, "train")
    assert flops.flops_per_token(windowed, 16, "train") == 6 * windowed.dense_params + 12 * 2 * 64 * (16 + 2)
    gated = Shape(64, 128, (FullAttention(),), gated_ffn=True)
    assert gated.dense_params == 4 * 64 * 64 + 3 * 64 * 128
    assert flops.flops_per_token(None, 512, "train") is None


SMALL = dict(vocab_size=100, hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=48)


def counted_forward_flops(model, length: int, batch: int = 2) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    ids = torch.randint(5, 100, (batch, length), generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(input_ids=ids, attention_mask=torch.ones_like(ids))
    return counter.get_total_flops()


def tiny_encoder(runner: str):
    """A tiny encoder of `runner`'s family (no pooler, no head) and its config."""
    from transformers import AutoModel

    specials = dict(pad_token_id=1, bos_token_id=0, eos_token_id=2)
    torch.manual_seed(0)
    eager = dict(attn_implementation="eager")  # torch counts no FLOPs in its fused CPU SDPA kernel
    if runner == "modernbert-8192":
        config = ModernBertConfig(**SMALL, **specials, **eager, cls_token_id=0, sep_token_id=2, local_attention=16)
        return config, AutoModel.from_config(config)
    if runner == "bigbird-4096":
        config = BigBirdConfig(**SMALL, **specials, block_size=8, num_random_blocks=2)
    else:
        config = RobertaConfig(**SMALL, **specials, **eager)
    return config, AutoModel.from_config(config, add_pooling_layer=False)


@pytest.mark.parametrize(
    ("runner", "length"),
    [("bigbird-4096", 256), ("bigbird-4096", 64), ("roberta-512", 64), ("modernbert-8192", 16)],
)
def test_shapes_match_the_matmuls_tiny_models_run(runner, length):
    """The declared shape against torch's count of the matmuls a tiny encoder really runs: block-sparse attention
    (and its fallback to full attention at 64 tokens), full attention, the gated FFN (ModernBERT at a length
    within its local window, where local and global layers cost the same)."""
    config, model = tiny_encoder(runner)
    model.train()  # BigBird draws its random blocks in training (in evaluation it still computes them, on block 0)
    shape = build_runner(runner).model_shape(config)
    assert counted_forward_flops(model, length) == 2 * length * flops.flops_per_token(shape, length, "infer")


def test_chunk_model_matches_its_shape():
    runner = build_runner("tiny-roberta-chunks-2048", {"max_length": 64, "chunk_length": 16, "vocab_size": 100})
    torch.manual_seed(0)
    model = runner.build_model(["neg", "pos"]).eval()
    model.encoder.set_attn_implementation("eager")  # torch counts no FLOPs in its fused CPU SDPA kernel
    shape = runner.model_shape(runner.model_config(model))
    head = 2 * (runner.hidden_size**2 + 2 * runner.hidden_size)  # per document, on the pooled vector
    assert counted_forward_flops(model, 64) == 2 * (64 * flops.flops_per_token(shape, 64, "infer") + head)


def test_peak_table_and_mfu():
    assert flops.table_peak("NVIDIA H100 80GB HBM3", "bf16") == pytest.approx(989.4e12)
    assert flops.table_peak("NVIDIA H100 PCIe", "fp16") == pytest.approx(756e12)
    assert flops.table_peak("NVIDIA H200", "bf16") == pytest.approx(989.4e12)
    assert flops.table_peak("NVIDIA A100-SXM4-80GB", "bf16") == pytest.approx(312e12)
    assert flops.table_peak("NVIDIA GeForce RTX 4090", "bf16") is None  # unknown: no MFU rather than a guess
    assert flops.table_peak(None, "bf16") is None
    assert flops.mfu(1e12, None) is None and flops.mfu(None, 1e12) is None
    assert flops.mfu(2.5e14, 1e15) == pytest.approx(0.25)
    assert flops.measured_cpu_peak(size=64, repeats=2) > 0


def test_hardware_flops_agree_with_model_flops_for_full_attention():
    """What the kernels execute (FlopCounterMode) against the model FLOPs bench counts, for one training step of a
    tiny RoBERTa: the same work, bar the classification head (a few FLOPs per document)."""
    from bench.profile.child import ProfileJob, measure

    runner = build_runner(
        "tiny-roberta-512", {"max_length": 128, "hidden_size": 32, "num_layers": 2, "vocab_size": 100}
    )
    job = ProfileJob("tiny", runner, 128, "train", 2, 1, 0, None, threads=1)
    measured = measure(job)
    ratio = measured["hardware_flops_per_token"] / measured["flops_per_token"]
    assert 1.0 <= ratio < 1.02, ratio
    assert measured["hfu"] > 0 and measured["hfu"] == pytest.approx(measured["mfu"] * ratio)
    assert measured["gpu_s_per_step"] is None and measured["bound"] is None  # a CPU: no device to wait for


def test_hardware_flops_exceed_model_flops_for_a_masked_window():
    """ModernBERT under SDPA computes its local layers as a full product under a mask: the kernels execute more
    than the windowed model needs, and HFU > MFU says so (FlexAttention or FlashAttention compute the window)."""
    from bench.profile.child import hardware_flops

    config, model = tiny_encoder("modernbert-8192")
    model.set_attn_implementation("sdpa")
    model.train()
    ids = torch.randint(5, 100, (2, 128), generator=torch.Generator().manual_seed(0))

    def step():
        model(input_ids=ids).last_hidden_state.float().pow(2).mean().backward()

    counted = hardware_flops(step) / (2 * 128)
    model_flops = flops.flops_per_token(build_runner("modernbert-8192").model_shape(config), 128, "train")
    assert counted > 1.3 * model_flops  # 2 of 3 layers see 17 keys in the model, 128 in the kernel
