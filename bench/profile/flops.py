"""Model FLOPs per token of an encoder classifier, the device's peak FLOP/s, and model FLOPs utilisation (MFU).

Model FLOPs count the matrix multiplications the architecture needs, not what a kernel happens to execute
(recomputation under gradient checkpointing, Longformer's overlapping chunks and padding are not counted), as in
the PaLM paper's MFU (Chowdhery et al. 2022, appendix B). Per token, for `n_layers` layers of width `d` with
feed-forward width `f`, each token attending to `ctx` keys:

    dense  = 2 · N                   N = n_layers · (4·d² + 2·d·f): Q, K, V, output and the two FFN matrices
    attn   = 4 · n_layers · d · ctx  Q·Kᵀ and attention·V, 2 multiply-adds each per key
    forward (infer) = dense + attn;  training = 3 · forward (the backward pass costs twice the forward)

so training is 6·N + 12·n_layers·d·ctx per token. Embedding lookups and the classification head (run on one token
per document) are left out. Full attention has ctx = L, the sequence length: cost per token grows with L, per
sequence with L². Longformer's sliding window has ctx = min(L, w + 1) + 2 (w/2 keys on each side and the token
itself, plus the global first token both ways), constant in L.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Shape:
    """What the FLOPs formula needs from a model config."""

    n_layers: int
    hidden: int
    intermediate: int
    window: int | None = None  # sliding attention window (all keys on both sides), None for full attention

    @classmethod
    def from_config(cls, config: Any) -> Shape | None:
        """The shape of a BERT-like config (RoBERTa, Longformer, …), or None where it lacks the fields."""
        try:
            n_layers, hidden = int(config.num_hidden_layers), int(config.hidden_size)
            intermediate = int(config.intermediate_size)
        except (AttributeError, TypeError, ValueError):
            return None
        window = getattr(config, "attention_window", None)
        if isinstance(window, list | tuple):
            window = max(window) if window else None  # per-layer windows: the widest bounds the cost
        return cls(n_layers, hidden, intermediate, int(window) if window else None)

    @property
    def dense_params(self) -> int:
        """N: the weights every token is multiplied by (biases and layer norms left out)."""
        return self.n_layers * (4 * self.hidden**2 + 2 * self.hidden * self.intermediate)

    def context(self, seq_len: int) -> int:
        """Keys each token attends to, on average."""
        return seq_len if self.window is None else min(seq_len, self.window + 1) + 2


def flops_per_token(shape: Shape | None, seq_len: int, mode: str) -> float | None:
    """Model FLOPs per token (see the module docstring); `mode` is 'train' or 'infer'."""
    if shape is None:
        return None
    forward = 2 * shape.dense_params + 4 * shape.n_layers * shape.hidden * shape.context(seq_len)
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
