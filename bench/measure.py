"""Measurements with units: GPU/CPU peak memory, training throughput (warm-up excluded), and the environment."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from transformers import TrainerCallback

from bench.host import peak_cpu_rss_mb  # noqa: F401  (re-exported: measurements in one place)


class GpuMemory:
    """Context manager: peak CUDA allocator memory and NVML-reported process memory, in MB.

    Every field stays None where it cannot be measured (no CUDA, no NVML): missing, never 0.
    """

    def __init__(self, poll_s: float = 0.1) -> None:
        self.poll_s = poll_s
        self.allocated_mb: float | None = None
        self.reserved_mb: float | None = None
        self.nvml_mb: float | None = None
        self.gpu_name: str | None = None
        self.driver: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml: Any = None
        self._handle: Any = None

    def __enter__(self) -> GpuMemory:
        import torch

        if not torch.cuda.is_available():
            return self
        torch.cuda.reset_peak_memory_stats()
        self.gpu_name = torch.cuda.get_device_name()
        try:
            import pynvml

            pynvml.nvmlInit()
            index = torch.cuda.current_device()
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            if visible and visible.split(",")[index].strip().isdigit():
                index = int(visible.split(",")[index])
            self._nvml, self._handle = pynvml, pynvml.nvmlDeviceGetHandleByIndex(index)
            driver = pynvml.nvmlSystemGetDriverVersion()
            self.driver = driver.decode() if isinstance(driver, bytes) else driver
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        except Exception:  # NVML missing or not permitted: the allocator figures still stand
            self._nvml = None
        return self

    def _poll(self) -> None:
        # NVML sees what the CUDA context and caching allocator really hold, which max_memory_allocated does not
        pid = os.getpid()
        while not self._stop.is_set():
            try:
                for proc in self._nvml.nvmlDeviceGetComputeRunningProcesses(self._handle):
                    if proc.pid == pid and proc.usedGpuMemory is not None:
                        self.nvml_mb = max(self.nvml_mb or 0.0, proc.usedGpuMemory / 2**20)
            except Exception:
                return
            self._stop.wait(self.poll_s)

    def __exit__(self, *exc: object) -> None:
        import torch

        if not torch.cuda.is_available():
            return
        torch.cuda.synchronize()
        self.allocated_mb = torch.cuda.max_memory_allocated() / 2**20
        self.reserved_mb = torch.cuda.max_memory_reserved() / 2**20
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._nvml.nvmlShutdown()


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
