"""Training measurements: warm-up left out per process, totals carried across a resume, training memory without
the validation passes, energy over the timed intervals only. Driven through the Trainer's callback events with a
fake GPU meter (the CUDA/NVML boundary)."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import torch

from bench.train.measure import MEASURES, ThroughputCallback, TokenCounter, Totals


class FakeGpu:
    """The GpuMemory interface over scripted values: energy grows 100 J per call, peaks as set."""

    def __init__(self) -> None:
        self.energy = 0.0
        self.peak = 0.0
        self.resets = 0

    def energy_j(self) -> float:
        self.energy += 100.0
        return self.energy

    def phase_peaks(self):
        return (self.peak, self.peak + 10, None)

    def utilization(self):
        return 150.0, 2  # two NVML samples per training phase, 75% on average

    def reset(self) -> None:
        self.resets += 1
        self.peak = 0.0


def batch(n_docs: int, length: int, real: int) -> dict:
    mask = torch.zeros(n_docs, length, dtype=torch.long)
    mask[:, :real] = 1
    return {"input_ids": torch.ones(n_docs, length, dtype=torch.long), "attention_mask": mask}


def run_epochs(
    cb: ThroughputCallback, counter: TokenCounter, gpu: FakeGpu | None, state, args, epochs: int, steps: int
):
    cb.on_train_begin(args, state, None)
    for _ in range(epochs):
        cb.on_epoch_begin(args, state, None)
        for _ in range(steps):
            counter.add(batch(2, 8, 6))
            if gpu is not None:
                gpu.peak = max(gpu.peak, 1000.0)
            state.global_step += 1
            cb.on_step_end(args, state, None)
        cb.on_epoch_end(args, state, None)
        if gpu is not None:
            gpu.peak = 5000.0  # the validation pass, larger than training
        cb.on_evaluate(args, state, None)
        cb.save(Path(args.output_dir) / f"checkpoint-{state.global_step}")  # as CountingTrainer does


def test_warm_up_is_left_out_and_validation_memory_is_not_training_memory(tmp_path: Path):
    counter, gpu = TokenCounter(), FakeGpu()
    cb = ThroughputCallback(counter, warmup_steps=2, gpu=gpu)
    state, args = types.SimpleNamespace(global_step=0, max_steps=12), types.SimpleNamespace(output_dir=str(tmp_path))
    run_epochs(cb, counter, gpu, state, args, epochs=2, steps=6)
    fields = cb.record_fields()
    assert fields["train_s"] > 0 and fields["segments"] == 1
    # 12 steps, 2 left out: 10 micro-batches of 2 documents with 6 real tokens of 8 each
    assert fields["train_tokens_per_s"] * fields["train_s"] == pytest.approx(10 * 2 * 6)
    assert fields["train_padded_tokens_per_s"] * fields["train_s"] == pytest.approx(10 * 2 * 8)
    assert fields["peak_gpu_mem_train_mb"] == 1000.0  # the 5000 MB validation passes are not counted
    assert fields["peak_gpu_mem_train_reserved_mb"] == 1010.0 and fields["peak_gpu_mem_train_nvml_mb"] is None
    # two timed intervals, each read at its start and end (the warm-up is not one): (300 - 200) + (500 - 400) J
    assert fields["train_energy_j"] == 200.0
    assert fields["avg_gpu_power_w"] == pytest.approx(200.0 / fields["train_s"])
    assert fields["gpu_util_pct"] == 75.0
    # no CUDA here: the GPU time of the steps, and so whether the host set the pace, is missing, never 0
    assert fields["train_gpu_s"] is None and fields["gpu_busy"] is None and fields["bound"] is None
    saved = json.loads((tmp_path / "checkpoint-12" / MEASURES).read_text())
    assert saved["samples"] == 20 and saved["segments"] == 1


def test_a_resumed_run_adds_its_own_interval_to_what_was_measured_before(tmp_path: Path):
    counter = TokenCounter()
    first = ThroughputCallback(counter, warmup_steps=2)
    state, args = types.SimpleNamespace(global_step=0, max_steps=12), types.SimpleNamespace(output_dir=str(tmp_path))
    run_epochs(first, counter, None, state, args, epochs=1, steps=6)  # then the process is killed
    carried = Totals.read(tmp_path / "checkpoint-6")
    assert carried is not None and carried.samples == 8 and carried.train_s > 0

    counter = TokenCounter()  # a new process
    second = ThroughputCallback(counter, warmup_steps=2, carried=carried)
    run_epochs(second, counter, None, state, types.SimpleNamespace(output_dir=str(tmp_path / "b")), epochs=1, steps=6)
    fields = second.record_fields()
    assert fields["segments"] == 2
    assert fields["train_s"] > carried.train_s  # never 0, never this process's part alone
    assert fields["train_samples_per_s"] * fields["train_s"] == pytest.approx(8 + 8)  # each leaves out 2 steps
    assert fields["train_energy_j"] is None and fields["peak_gpu_mem_train_mb"] is None  # no GPU: missing


def test_resumed_without_saved_totals_the_time_is_missing_not_zero(tmp_path: Path):
    counter = TokenCounter()
    cb = ThroughputCallback(counter, warmup_steps=1, carried=None)
    state, args = types.SimpleNamespace(global_step=6, max_steps=12), types.SimpleNamespace(output_dir=str(tmp_path))
    run_epochs(cb, counter, None, state, args, epochs=1, steps=6)
    fields = cb.record_fields()
    assert fields["train_s"] is None and fields["train_tokens_per_s"] is None and fields["segments"] is None
    assert Totals.read(tmp_path / "no-such-checkpoint") is None


def test_the_host_or_the_device_set_the_pace():
    from bench.gpu import bound

    assert bound(0.9, 1.0) == "device" and bound(0.5, 1.0) == "host" and bound(None, 1.0) is None
    assert bound(0.8, 1.0) == "device"  # the line: the GPU computed for 80% of the wall time
