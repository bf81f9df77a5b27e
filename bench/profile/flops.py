"""Model FLOPs per token of an encoder classifier, the device's peak FLOP/s, and model FLOPs utilisation (MFU).

Model FLOPs count the matrix multiplications the architecture needs, not what a kernel happens to execute
(recomputation under gradient checkpointing, Longformer's overlapping chunks and padding are not counted), as in
the PaLM paper's MFU (Chowdhery et al. 2022, appendix B). The runner declares its model's shape
(`TransformerRunner.model_shape`, a `bench.runners.shapes.Shape`): n layers of width d, feed-forward width f,
and in each layer i a token attending to ctx_i(L) keys at sequence length L. Per token:

    dense  = 2 · N                   N = n · (4·d² + 2·d·f): Q, K, V, output and the two FFN matrices
                                     (3·d·f for a gated feed-forward, ModernBERT's: d -> 2f, then f -> d);
                                     a decoder: n · (2·d·q + 2·d·kv + 3·d·f), kv = kv heads x head size
    attn   = 4 · q · Σ_i ctx_i(L)    Q·Kᵀ and attention·V, 2 multiply-adds each per key (q = heads x head size,
                                     d in an encoder; grouped-query attention's shared K/V heads change N only)
    forward (infer) = dense + attn;  training = 3 · forward (the backward pass costs twice the forward)

so training is 6·N + 12·d·Σ ctx_i per token. Embedding lookups and the classification head (run on one token
per document) are left out. Full attention has ctx = L; Longformer's window w has ctx = min(L, w + 1) + 2 (the
global <s> both ways); ModernBERT's local layers min(L, 129); BigBird's block-sparse layers about (5 + r) blocks
plus two global query blocks; a chunk encoder min(L, chunk length); a decoder's causal attention (L + 1) / 2, what
the model needs, not the full L x L product eager or SDPA's math kernel computes under the causal mask (see
`bench.runners.shapes`). LoRA runners are counted as the full model's training (3 x forward): their adapters add
under 1% and the frozen weights' skipped gradients are not subtracted, so MFU stays comparable across runners.
"""

from __future__ import annotations

from bench.runners.shapes import Shape

# Dense (no 2:4 sparsity) tensor-core peaks in TFLOP/s, from NVIDIA's data sheets, which quote sparse figures: half
# of those. H100 SXM5: 989.4 bf16/fp16, 494.7 tf32, 66.9 fp32 (H100 data sheet; Hopper architecture white paper,
# table 2). H100 PCIe: 756 / 378 / 51. H100 NVL: 835 / 418 / 60. H200 SXM: same chip and clocks as H100 SXM5, 989 /
# 494 / 67 (H200 data sheet). H200 NVL: 835 / 418 / 60. A100 (SXM4 and PCIe, 40 and 80 GB): 312 / 156 / 19.5 (A100
# data sheet). Matched on the CUDA device name; the first key found in the name wins, so longer names come first.
PEAK_TFLOPS: dict[str, dict[str, float]] = {
    "H100 PCIe": {"bf16": 756.0, "fp16": 756.0, "tf32": 378.0, "fp32": 51.0},
    "H100 NVL": {"bf16": 835.0, "fp16": 835.0, "tf32": 418.0, "fp32": 60.0},
    "H100": {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9},
    "H200 NVL": {"bf16": 835.0, "fp16": 835.0, "tf32": 418.0, "fp32": 60.0},
    "H200": {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9},
    "A100": {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5},
}


def flops_per_token(shape: Shape | None, seq_len: int, mode: str) -> float | None:
    """Model FLOPs per token (see the module docstring); `mode` is 'train' or 'infer'."""
    if shape is None:
        return None
    forward = 2 * shape.dense_params + 4 * shape.q_width * shape.attention_keys(seq_len)
    return float(3 * forward if mode == "train" else forward)


def table_peak(gpu_name: str | None, dtype: str) -> float | None:
    """Peak FLOP/s of a known GPU at `dtype` (bf16, fp16, tf32, fp32), else None."""
    if not gpu_name:
        return None
    for key, peaks in PEAK_TFLOPS.items():
        if key.lower() in gpu_name.lower():
            value = peaks.get(dtype)
            return None if value is None else value * 1e12
    return None


def mfu(flops_per_s: float | None, peak_flops_per_s: float | None) -> float | None:
    """Model FLOPs utilisation: achieved over peak, None where either is unknown."""
    if flops_per_s is None or not peak_flops_per_s:
        return None
    return flops_per_s / peak_flops_per_s


def measured_cpu_peak(size: int = 1024, repeats: int = 5) -> float:
    """FLOP/s of the best of `repeats` fp32 `size`×`size` matmuls on this CPU, with torch's threads: the attainable
    peak MFU is measured against where no data-sheet figure applies."""
    import time

    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)  # first call pays for thread-pool start-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best
