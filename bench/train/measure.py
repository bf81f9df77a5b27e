"""Training measurements through Trainer callbacks: token counts and throughput, warm-up steps excluded."""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


class TokenCounter:
    """Counts samples, real (non-padding) and computed (padded) tokens of every training micro-batch.

    Real tokens accumulate in a device tensor, so counting adds no host sync per step.
    """

    def __init__(self) -> None:
        self.samples = 0
        self.padded_tokens = 0
        self._real: Any = 0

    def add(self, inputs: dict[str, Any]) -> None:
        ids = inputs["input_ids"]
        self.samples += ids.shape[0]
        self.padded_tokens += ids.numel()
        self._real = self._real + inputs["attention_mask"].sum()

    def snapshot(self) -> tuple[int, int, int]:
        return self.samples, int(self._real), self.padded_tokens


class ThroughputCallback(TrainerCallback):
    """Training time and token counts after the first `warmup_steps` optimizer steps, evaluation excluded."""

    def __init__(self, counter: TokenCounter, warmup_steps: int) -> None:
        self.counter = counter
        self.warmup_steps = warmup_steps
        self.train_s = 0.0
        self._start: tuple[int, int, int] | None = None
        self._mark = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        # a run shorter than the warm-up is measured whole rather than not at all
        self.warmup_steps = min(self.warmup_steps, max(0, state.max_steps - 1))
        if self.warmup_steps == 0:
            self._start = self.counter.snapshot()

    def on_epoch_begin(self, args, state, control, **kwargs):
        self._mark = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.warmup_steps and self._start is None:
            _sync()
            self._start = self.counter.snapshot()
            self._mark = time.perf_counter()

    def on_epoch_end(self, args, state, control, **kwargs):
        # called before the epoch's evaluation, so evaluation time is never counted as training time
        _sync()
        if self._start is not None:
            self.train_s += time.perf_counter() - self._mark

    def rates(self) -> dict[str, float | None]:
        if self._start is None or self.train_s <= 0:
            return {"train_samples_per_s": None, "train_tokens_per_s": None, "train_padded_tokens_per_s": None}
        samples, real, padded = (end - start for end, start in zip(self.counter.snapshot(), self._start, strict=True))
        return {
            "train_samples_per_s": samples / self.train_s,
            "train_tokens_per_s": real / self.train_s,
            "train_padded_tokens_per_s": padded / self.train_s,
            "throughput_warmup_steps": self.warmup_steps,
        }
