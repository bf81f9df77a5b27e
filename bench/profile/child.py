"""Measure one (runner, sequence length) in a fresh process: warm-up steps, then timed steps on synthetic input.

Run by `bench profile` in a spawned process per (runner, length), so peak memory is this length's alone and
running out of memory ends this measurement only. The record it writes is its result; out of memory is a result too.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.profile import flops
from bench.records import write_record
from bench.runners import Runner

LABEL_NAMES = ("0", "1")


@dataclass(frozen=True)
class ProfileJob:
    """One measurement, picklable for the spawned worker."""

    runner_name: str
    runner: Runner  # built with max_length = seq_len
    seq_len: int
    mode: str  # train | infer
    batch_size: int
    steps: int
    warmup: int
    record_path: Path
    threads: int | None = None  # torch CPU threads; None leaves torch's default


def base_record(job: ProfileJob) -> dict[str, Any]:
    """The identifying part of a record, shared by finished and failed measurements."""
    return {
        "kind": "profile",
        "runner": job.runner_name,
        "model_family": job.runner.family,
        "model_id": getattr(job.runner, "model_id", None),
        "attention_window": job.runner.attention_window,
        "mode": job.mode,
        "batch_size": job.batch_size,
        "seq_len": job.seq_len,
        "steps": job.steps,
        "warmup_steps": job.warmup,
        "config": {"runner": {"name": job.runner_name, "class": type(job.runner).__qualname__, **job.runner.params()}},
    }


def end_record(job: ProfileJob, status: str, error: str | None, wall_s: float | None) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return {**base_record(job), "status": status, "error": error, "wall_s": wall_s, "finished_at": now}


def synthetic_batch(runner: Runner, config: Any, seq_len: int, batch_size: int, seed: int = 0) -> dict[str, Any]:
    """`batch_size` documents of exactly `seq_len` tokens: <s>, random ordinary ids, </s>, then padding only where
    the runner pads batches to a multiple (Longformer: of its window) — as its collator would."""
    import torch

    specials = [getattr(config, f"{name}_token_id", None) for name in ("bos", "eos", "pad")]
    low = 1 + max((s for s in specials if isinstance(s, int)), default=-1)  # ordinary ids lie above the specials
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(low, config.vocab_size, (batch_size, seq_len), generator=generator)
    if specials[0] is not None:
        ids[:, 0] = specials[0]
    if specials[1] is not None:
        ids[:, -1] = specials[1]
    padded = seq_len
    if runner.pad_to_multiple_of:
        padded = -(-seq_len // runner.pad_to_multiple_of) * runner.pad_to_multiple_of
    pad = specials[2] if specials[2] is not None else 0
    full = torch.full((batch_size, padded), pad, dtype=torch.long)
    full[:, :seq_len] = ids
    mask = torch.zeros_like(full)
    mask[:, :seq_len] = 1
    labels = torch.randint(0, len(LABEL_NAMES), (batch_size,), generator=generator)
    return {"input_ids": full, "attention_mask": mask, **runner.extra_inputs(full), "labels": labels}


class HostMemory:
    """Peak resident set size of this process over a block, in MB, via Linux's resettable high-water mark
    (writing 5 to /proc/self/clear_refs resets VmHWM). ru_maxrss cannot be reset: in a fresh process it is mostly
    the imports. Fields stay None where /proc is not available."""

    def __init__(self) -> None:
        self.baseline_mb: float | None = None
        self.peak_mb: float | None = None

    @staticmethod
    def _status_mb(field: str) -> float | None:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
        except OSError:
            pass
        return None

    def __enter__(self) -> HostMemory:
        self.baseline_mb = self._status_mb("VmRSS")
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self._reset = True
        except OSError:
            self._reset = False
        return self

    def __exit__(self, *exc: object) -> None:
        if self._reset:
            self.peak_mb = self._status_mb("VmHWM")

    @property
    def delta_mb(self) -> float | None:
        if self.peak_mb is None or self.baseline_mb is None:
            return None
        return self.peak_mb - self.baseline_mb


def _precision(torch: Any) -> tuple[str, Any]:
    """The protocol's 'auto' mixed precision: bf16 where the GPU has it, else fp16; fp32 on a CPU."""
    if not torch.cuda.is_available():
        return "fp32", None
    return ("bf16", torch.bfloat16) if torch.cuda.is_bf16_supported() else ("fp16", torch.float16)


def measure(job: ProfileJob) -> dict[str, Any]:
    """Build the model, run warm-up and timed steps, and return the measurements."""
    import contextlib

    import torch

    from bench.measure import GpuMemory, peak_cpu_rss_mb

    if job.threads:
        torch.set_num_threads(job.threads)
    torch.manual_seed(0)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    model = job.runner.build_model(LABEL_NAMES).to(device)
    batch = {k: v.to(device) for k, v in synthetic_batch(job.runner, model.config, job.seq_len, job.batch_size).items()}
    dtype_name, dtype = _precision(torch)
    autocast = torch.autocast("cuda", dtype=dtype) if dtype is not None else contextlib.nullcontext()
    train = job.mode == "train"
    model.train(train)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True if cuda else None) if train else None

    def step() -> None:
        if train:
            with autocast:
                loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        else:
            with torch.inference_mode(), autocast:
                model(**batch)

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    model_gpu_mb = torch.cuda.memory_allocated() / 2**20 if cuda else None
    times = []
    with GpuMemory() as gpu, HostMemory() as host:
        for i in range(job.warmup + job.steps):
            sync()
            started = time.perf_counter()
            step()
            sync()  # a sync per step: a profiler wants each step's time, the median is robust to a busy machine
            if i >= job.warmup:
                times.append(time.perf_counter() - started)

    s_per_step = statistics.median(times)
    shape = flops.Shape.from_config(model.config)
    per_token = flops.flops_per_token(shape, job.seq_len, job.mode)
    tokens = job.batch_size * job.seq_len
    achieved = None if per_token is None else per_token * tokens / s_per_step
    if cuda:
        peak, source = flops.table_peak(gpu.gpu_name, dtype_name), f"data sheet, {dtype_name} dense"
        if peak is None:
            source = f"unknown: '{gpu.gpu_name}' is not in the peak table"
    else:
        peak, source = flops.measured_cpu_peak(), "measured: best fp32 1024x1024 matmul"
    step_gpu_mb = None if gpu.allocated_mb is None else gpu.allocated_mb - model_gpu_mb
    return {
        "s_per_step": s_per_step,
        "s_per_step_mean": statistics.fmean(times),
        "s_per_step_min": min(times),
        "tokens_per_s": tokens / s_per_step,
        "padded_tokens_per_s": batch["input_ids"].numel() / s_per_step,
        "samples_per_s": job.batch_size / s_per_step,
        "padded_len": batch["input_ids"].shape[1],
        "peak_gpu_mem_mb": gpu.allocated_mb,
        "peak_gpu_mem_reserved_mb": gpu.reserved_mb,
        "peak_gpu_mem_nvml_mb": gpu.nvml_mb,
        "model_gpu_mem_mb": model_gpu_mb,
        "step_gpu_mem_mb": step_gpu_mb,
        "peak_cpu_rss_mb": peak_cpu_rss_mb(),
        "model_cpu_rss_mb": host.baseline_mb,
        "step_peak_cpu_rss_mb": host.peak_mb,
        "step_cpu_rss_delta_mb": host.delta_mb,
        # what the memory exponent is fitted on: memory the steps add over the built model (GPU where there is one)
        "step_mem_mb": step_gpu_mb if cuda else host.delta_mb,
        "step_mem_kind": "gpu" if cuda else "cpu",
        "n_params": sum(p.numel() for p in model.parameters()),
        "dense_params": None if shape is None else shape.dense_params,
        "flops_per_token": per_token,
        "achieved_flops_per_s": achieved,
        "peak_flops_per_s": peak,
        "peak_flops_source": source,
        "mfu": flops.mfu(achieved, peak),
        "precision": dtype_name,
        "attn_implementation": getattr(model.config, "_attn_implementation", None),
        "device": "cuda" if cuda else "cpu",
        "gpu_name": gpu.gpu_name,
        "gpu_driver": gpu.driver,
        "torch_threads": torch.get_num_threads(),
    }


def execute(job: ProfileJob) -> None:
    """Worker entry point (runs in a spawned process): measure, then write the record (ok, oom or failed)."""
    import torch
    import transformers

    try:
        from bench.host import environment
    except ImportError:  # bench.measure held it before bench.host existed
        from bench.measure import environment

    transformers.logging.set_verbosity_error()
    started = time.perf_counter()
    try:
        metrics = measure(job)
    except (torch.OutOfMemoryError, MemoryError) as err:
        write_record(job.record_path, end_record(job, "oom", _last_line(err), time.perf_counter() - started))
        return
    except Exception as err:
        traceback.print_exc()
        write_record(job.record_path, end_record(job, "failed", _last_line(err), time.perf_counter() - started))
        raise SystemExit(1) from None
    record = end_record(job, "ok", None, time.perf_counter() - started)
    write_record(job.record_path, {**record, **metrics, "environment": environment()})


def _last_line(err: BaseException) -> str:
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[-1] if lines else ''}".strip()
