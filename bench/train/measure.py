"""Training measurements through Trainer callbacks: token counts and throughput, warm-up steps excluded."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from bench.gpu import GpuMemory, bound
from bench.results.files import atomic_write_text
from bench.train.distributed import rank, reduce
from bench.train.energy import Energy, EnergyMeter, combine
from bench.train.energy import record_fields as energy_fields


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
        mask = inputs.get("attention_mask")  # a batch without padding has none: every token is real
        self._real = self._real + (mask.sum() if mask is not None else ids.numel())

    def snapshot(self) -> tuple[int, int, int]:
        return self.samples, int(self._real), self.padded_tokens


MEASURES = "bench-measures.json"  # beside each checkpoint: what the run measured up to it (rank r > 0: .rank<r>)


def _measures(checkpoint: Path) -> Path:
    r = rank()
    return checkpoint / (MEASURES if r == 0 else MEASURES.replace(".json", f".rank{r}.json"))


@dataclass
class Totals:
    """What a run measured while training, summed over the processes that trained part of it (a resumed run is
    several). A figure one of them could not measure is None for the whole run: missing, never 0."""

    train_s: float | None = 0.0
    samples: int = 0
    real_tokens: int = 0
    padded_tokens: int = 0
    energy_j: float | None = 0.0
    wall_s: float = 0.0  # every process's wall time, lost work after its last checkpoint excepted
    segments: int = 0
    peak_train: tuple[float | None, float | None, float | None] = (None, None, None)  # allocated, reserved, NVML MB
    gpu_s: float | None = 0.0  # GPU time of the timed steps (CUDA events); None on a CPU
    util_sum: float = 0.0  # NVML utilisation samples while training: their sum and count
    util_n: int = 0
    energy: dict | None = None  # codecarbon's kWh and CO2 (`bench.train.energy`); None: not measured

    @classmethod
    def read(cls, checkpoint: Path) -> Totals | None:
        """The totals saved with `checkpoint`, or None where they are missing (the run cannot be measured whole)."""
        try:
            raw = json.loads(_measures(checkpoint).read_text(encoding="utf-8"))
            return cls(**{**raw, "peak_train": tuple(raw["peak_train"])})
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def over_ranks(self) -> Totals:
        """The totals of a distributed run, reduced once over its ranks: samples, tokens and energy summed, training
        time and memory peaks those of the slowest and the fullest rank. Unchanged in a run of one process."""
        samples, real, padded, energy = reduce(
            [self.samples, self.real_tokens, self.padded_tokens, self.energy_j], "sum"
        )
        train_s, gpu_s, *peaks = reduce([self.train_s, self.gpu_s, *self.peak_train], "max")
        return dataclasses.replace(
            self,
            train_s=train_s,
            gpu_s=gpu_s,
            samples=int(samples or 0),
            real_tokens=int(real or 0),
            padded_tokens=int(padded or 0),
            energy_j=energy,
            peak_train=tuple(peaks),
        )


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


class ThroughputCallback(TrainerCallback):
    """Training time, token counts and energy after this process's first `warmup_steps` optimizer steps, evaluation
    excluded; training memory peaks with validation excluded.

    Every process that trains part of a run (a resumed run starts a new one) leaves out its own warm-up and adds its
    own interval to the totals it resumed with (`carried`); the totals are saved beside every checkpoint, so a run
    resumed from any of them knows what was measured before. Resumed without saved totals (`carried` None while
    resuming), the run's time and rates are None.
    """

    def __init__(
        self,
        counter: TokenCounter,
        warmup_steps: int,
        carried: Totals | None = None,
        gpu: GpuMemory | None = None,
        wall_started: float | None = None,
        energy: EnergyMeter | None = None,
    ) -> None:
        self.counter = counter
        self.warmup_steps = warmup_steps
        self.carried = carried
        self.gpu = gpu
        self.wall_started = time.perf_counter() if wall_started is None else wall_started
        self.energy = energy
        self.train_s = 0.0
        self.energy_j: float | None = 0.0
        self.peak_train: tuple[float | None, float | None, float | None] = (None, None, None)
        self.gpu_s: float | None = 0.0 if self._cuda() else None
        self.util_sum, self.util_n = 0.0, 0
        self._events: list[tuple[Any, Any]] = []  # (begin, end) CUDA events of the timed steps of this epoch
        self._pending: Any = None
        self._first_step = 0
        self._start: tuple[int, int, int] | None = None
        self._mark = 0.0
        self._energy_mark: float | None = None

    @staticmethod
    def _cuda() -> bool:
        import torch

        return torch.cuda.is_available()

    @staticmethod
    def _event():
        import torch

        event = torch.cuda.Event(enable_timing=True)
        event.record()  # on the stream: no host sync
        return event

    def on_step_begin(self, args, state, control, **kwargs):
        if self._start is not None and self.gpu_s is not None:
            self._pending = self._event()

    def _begin_interval(self) -> None:
        self._mark = time.perf_counter()
        self._energy_mark = self.gpu.energy_j() if self.gpu is not None else None
        if self.energy is not None:  # a warm-up interval begun at the epoch's start is dropped here, uncounted
            self.energy.begin()

    def on_train_begin(self, args, state, control, **kwargs):
        self._first_step = state.global_step  # > 0 when this process resumes a run
        # a segment shorter than the warm-up is measured whole rather than not at all
        self.warmup_steps = min(self.warmup_steps, max(0, state.max_steps - self._first_step - 1))
        if self.gpu is not None:
            self.gpu.reset()
        if self.warmup_steps == 0:
            self._start = self.counter.snapshot()

    def on_epoch_begin(self, args, state, control, **kwargs):
        self._begin_interval()

    def on_step_end(self, args, state, control, **kwargs):
        if self._pending is not None:
            self._events.append((self._pending, self._event()))
            self._pending = None
        if state.global_step == self._first_step + self.warmup_steps and self._start is None:
            _sync()
            self._start = self.counter.snapshot()
            self._begin_interval()

    def on_epoch_end(self, args, state, control, **kwargs):
        # called before the epoch's evaluation, so evaluation time is never counted as training time
        _sync()
        if self._start is not None:
            self.train_s += time.perf_counter() - self._mark
            energy = self.gpu.energy_j() if self.gpu is not None else None
            used = None if energy is None or self._energy_mark is None else energy - self._energy_mark
            self.energy_j = _add(self.energy_j, used)
            if self.energy is not None:
                self.energy.end()
        if self.gpu_s is not None and self._events:  # the sync above completed them
            self.gpu_s += sum(begin.elapsed_time(end) for begin, end in self._events) / 1e3
        self._events = []
        if self.gpu is not None:
            self.peak_train = tuple(_max(a, b) for a, b in zip(self.peak_train, self.gpu.phase_peaks(), strict=True))
            total, n = self.gpu.utilization()
            self.util_sum, self.util_n = self.util_sum + total, self.util_n + n

    def on_train_end(self, args, state, control, **kwargs):
        if self.energy is not None:  # the test pass is not training
            self.energy.stop()

    def on_log(self, args, state, control, logs=None, **kwargs):
        # the epoch's training log gets the run's kWh and CO2 so far; `tracking.attach` puts this callback first, so
        # that every tracker's callback logs them too (the dict is the one each callback is given)
        if logs is not None and "loss" in logs and self.energy is not None:
            saved = self.totals().energy
            if saved is not None:
                logs.update(energy_kwh=Energy(**saved["energy"]).kwh, co2eq_kg=saved["energy"]["co2_kg"])

    def on_evaluate(self, args, state, control, **kwargs):
        if self.gpu is not None:
            self.gpu.reset()  # the validation pass's peak is not the next epoch's training peak

    def save(self, checkpoint: Path) -> None:
        """Write the totals so far into `checkpoint` (called by the trainer before the checkpoint's own files)."""
        checkpoint.mkdir(parents=True, exist_ok=True)
        atomic_write_text(_measures(checkpoint), json.dumps(dataclasses.asdict(self.totals())) + "\n")

    def totals(self) -> Totals:
        """The run's totals so far: what was carried in plus this process's own."""
        own = Totals(
            train_s=self.train_s if self._start is not None else None,
            energy_j=self.energy_j if self._start is not None else None,
            wall_s=time.perf_counter() - self.wall_started,
            segments=1,
            peak_train=self.peak_train,
            gpu_s=self.gpu_s if self._start is not None else None,
            util_sum=self.util_sum,
            util_n=self.util_n,
            energy=self.energy.saved() if self.energy is not None and self._start is not None else None,
        )
        if self._start is not None:
            own.samples, own.real_tokens, own.padded_tokens = (
                end - start for end, start in zip(self.counter.snapshot(), self._start, strict=True)
            )
        base = self.carried if self.carried is not None or self._first_step == 0 else None
        if base is None and self._first_step > 0:  # resumed, but what came before was not measured
            return dataclasses.replace(own, train_s=None, energy_j=None, segments=None, energy=None)  # type: ignore[arg-type]
        base = base or Totals()
        return Totals(
            train_s=_add(base.train_s, own.train_s),
            samples=base.samples + own.samples,
            real_tokens=base.real_tokens + own.real_tokens,
            padded_tokens=base.padded_tokens + own.padded_tokens,
            energy_j=_add(base.energy_j, own.energy_j),
            wall_s=base.wall_s + own.wall_s,
            segments=base.segments + 1,
            peak_train=tuple(_max(a, b) for a, b in zip(base.peak_train, own.peak_train, strict=True)),
            gpu_s=_add(base.gpu_s, own.gpu_s),
            util_sum=base.util_sum + own.util_sum,
            util_n=base.util_n + own.util_n,
            energy=own.energy if self.carried is None else combine(base.energy, own.energy),
        )

    def record_fields(self) -> dict[str, Any]:
        """The run's training measurements as record fields, and `earlier_wall_s` (the wall time of the processes
        that trained it before this one), which the job adds to its own. In a distributed run every rank must call
        it (the figures are reduced over the ranks)."""
        t = self.totals().over_ranks()
        measured = t.train_s is not None and t.train_s > 0

        def rate(n: float | None) -> float | None:
            return n / t.train_s if measured and n is not None else None

        allocated, reserved, nvml = t.peak_train
        gpu_s = t.gpu_s if measured else None
        return {
            "train_s": t.train_s if measured else None,
            "train_gpu_s": gpu_s,
            "gpu_busy": rate(gpu_s),
            "bound": bound(gpu_s, t.train_s if measured else None),
            "gpu_util_pct": t.util_sum / t.util_n if t.util_n else None,
            "train_samples_per_s": rate(t.samples),
            "train_tokens_per_s": rate(t.real_tokens),
            "train_padded_tokens_per_s": rate(t.padded_tokens),
            "throughput_warmup_steps": self.warmup_steps,
            "train_energy_j": t.energy_j if measured else None,
            "avg_gpu_power_w": rate(t.energy_j),
            "peak_gpu_mem_train_mb": allocated,
            "peak_gpu_mem_train_reserved_mb": reserved,
            "peak_gpu_mem_train_nvml_mb": nvml,
            "segments": t.segments,
            **(energy_fields(t.energy, self.energy.config) if measured and self.energy is not None else {}),
            "earlier_wall_s": t.wall_s - (time.perf_counter() - self.wall_started),
        }


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)
