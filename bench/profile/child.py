"""Measure one (runner, sequence length) in a fresh process: warm-up steps, then timed steps on synthetic input.

Run by `bench profile` in a spawned process per (runner, length), so peak memory is this length's alone and
running out of memory ends this measurement only. The record it writes is its result; out of memory is a result too.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.gpu import GpuMemory, bound
from bench.host import HostMemory, environment, mixed_precision, now, peak_cpu_rss_mb, pin_one_gpu
from bench.profile import flops
from bench.results.schema import OK, ProfileRecord
from bench.results.store import write_record
from bench.runners.base import TransformerRunner

LABEL_NAMES = ("0", "1")


@dataclass(frozen=True)
class ProfileJob:
    """One measurement, picklable for the spawned worker; launched by `bench.launch.local`."""

    runner_name: str
    runner: TransformerRunner  # built with max_length = seq_len
    seq_len: int
    mode: str  # train | infer
    batch_size: int | str  # or "auto": the largest of AUTO_BATCHES whose step fits (bench.runners.probe)
    steps: int
    warmup: int
    record_path: Path
    threads: int | None = None  # torch CPU threads; None leaves torch's default

    @property
    def process_name(self) -> str:
        return f"bench-profile-{self.runner_name}-{self.seq_len}"

    def _record(self, status: str, error: str | None, wall_s: float | None, **measured: Any) -> ProfileRecord:
        runner = self.runner
        return ProfileRecord(
            runner=self.runner_name,
            model_family=runner.family,
            model_id=getattr(runner, "model_id", None),
            init=runner.init,
            attention_window=runner.attention_window,
            mode=self.mode,
            batch_size=measured.pop("batch_size", None) or (self.batch_size if self.batch_size != AUTO else None),
            seq_len=self.seq_len,
            steps=self.steps,
            warmup_steps=self.warmup,
            config={"runner": {"name": self.runner_name, "class": type(runner).__qualname__, **runner.params()}},
            status=status,
            error=error,
            wall_s=wall_s,
            finished_at=now(),
            **measured,
        )

    @property
    def outcome_path(self) -> Path:
        return self.record_path  # a measurement has no earlier result to keep: its try is its record

    def failure_record(self, status: str, error: str | None, wall_s: float | None, **fields: Any) -> ProfileRecord:
        return self._record(status, error, wall_s)

    def settle(self, record: ProfileRecord) -> ProfileRecord:
        write_record(self.record_path, record)
        return record

    def smaller(self, record: ProfileRecord | None = None) -> None:
        return None  # running out of memory at a length is the measurement's result

    def run(self) -> None:
        """In the worker: measure, then write the record."""
        pin_one_gpu()  # one device, before anything initialises CUDA
        import transformers

        transformers.logging.set_verbosity_error()
        started = time.perf_counter()
        metrics = measure(self)
        record = self._record(OK, None, time.perf_counter() - started, **metrics, environment=environment())
        write_record(self.record_path, record)


def synthetic_batch(
    runner: TransformerRunner, config: Any, seq_len: int, batch_size: int, seed: int = 0
) -> dict[str, Any]:
    """`batch_size` documents of exactly `seq_len` tokens: <s>, random ordinary ids, </s>, then padding only where
    the runner pads batches to a multiple (Longformer: of its window) — as its collator would. `config` is the
    runner's `model_config(model)`. A chunked runner's later chunks start with an ordinary id instead of <s>: the
    same cost."""
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


def measure(job: ProfileJob) -> dict[str, Any]:
    """Build the model, run warm-up and timed steps, and return the measurements."""
    import contextlib

    import torch

    if job.threads:
        torch.set_num_threads(job.threads)
    torch.manual_seed(0)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    model = job.runner.build_model(LABEL_NAMES).to(device)
    # asked of the runner, not the model: a wrapper (the chunk classifier) has no config of its own
    config = job.runner.model_config(model)
    precision = mixed_precision("auto")
    dtype_name, dtype = {"bf16": ("bf16", torch.bfloat16), "fp16": ("fp16", torch.float16)}.get(
        precision, ("fp32", None)
    )
    autocast = torch.autocast("cuda", dtype=dtype) if dtype is not None else contextlib.nullcontext()
    train = job.mode == "train"
    model.train(train)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True if cuda else None) if train else None
    batch_size, batch_probe = job.batch_size, None
    if batch_size == AUTO:
        batch_size, batch_probe = _auto_batch(job, model, config, device, autocast, optimizer)
    batch = {k: v.to(device) for k, v in synthetic_batch(job.runner, config, job.seq_len, batch_size).items()}

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
    times, gpu_times, wall_s = [], [], None
    with GpuMemory() as gpu, HostMemory() as host:
        for _ in range(job.warmup):
            step()
        sync()
        if cuda:  # the timed steps queue back to back, one sync at the end: the host can run ahead as in training
            events = [
                (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(job.steps)
            ]
            started = time.perf_counter()
            for begin, end in events:
                begin.record()
                step()
                end.record()
            sync()
            wall_s = (time.perf_counter() - started) / job.steps
            gpu_times = [begin.elapsed_time(end) / 1e3 for begin, end in events]
            times = [wall_s]
        else:  # a CPU computes as the host asks: each step's own time, the median robust to a busy machine
            for _ in range(job.steps):
                started = time.perf_counter()
                step()
                times.append(time.perf_counter() - started)
    hardware = hardware_flops(step)

    s_per_step = statistics.median(times)
    gpu_s = statistics.median(gpu_times) if gpu_times else None
    shape = job.runner.model_shape(config)
    per_token = flops.flops_per_token(shape, job.seq_len, job.mode)
    tokens = batch_size * job.seq_len
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
        "s_per_step_min": None if cuda else min(times),  # on a GPU no step is timed alone
        "tokens_per_s": tokens / s_per_step,
        "padded_tokens_per_s": batch["input_ids"].numel() / s_per_step,
        "samples_per_s": batch_size / s_per_step,
        "batch_size": batch_size,
        "batch_probe": batch_probe,
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
        "checkpoint_revision": job.runner.checkpoint_revision(model),
        "dense_params": None if shape is None else shape.dense_params,
        "flops_per_token": per_token,
        "achieved_flops_per_s": achieved,
        "peak_flops_per_s": peak,
        "peak_flops_source": source,
        "mfu": flops.mfu(achieved, peak),
        "hardware_flops_per_token": None if hardware is None else hardware / tokens,
        "hfu": None if hardware is None else flops.mfu(hardware / s_per_step, peak),
        "gpu_s_per_step": gpu_s,
        "bound": bound(gpu_s, s_per_step),
        "precision": dtype_name,
        "attn_implementation": getattr(config, "_attn_implementation", None),
        "device": "cuda" if cuda else "cpu",
        "gpu_name": gpu.gpu_name,
        "gpu_driver": gpu.driver,
        "torch_threads": torch.get_num_threads(),
    }


AUTO = "auto"
AUTO_BATCHES = (64, 32, 16, 8, 4, 2, 1)  # documents per step `--batch-size auto` chooses from


def _auto_batch(job: ProfileJob, model, config, device, autocast, optimizer) -> tuple[int, str]:
    """The largest of AUTO_BATCHES whose step at `job.seq_len` fits, as `bench.runners.probe` sizes a run's
    batches: tried for real on a GPU (under `probe.GPU_MARGIN` of its memory), estimated within the CPU budget."""
    import torch

    from bench.runners import probe

    cuda = device.type == "cuda"
    fixed = 3 * sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20 if optimizer else 0.0

    def step(size: int, checkpointing: bool) -> float | None:
        batch = {k: v.to(device) for k, v in synthetic_batch(job.runner, config, job.seq_len, size).items()}

        def forward():
            with autocast:
                return model(**batch).loss

        def run():
            if optimizer is None:
                with torch.inference_mode():
                    forward()
                return
            forward().backward()
            optimizer.step()

        try:
            return probe.gpu_step_mb(run) if cuda else fixed + probe.saved_mb(forward)
        finally:
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
            batch.clear()  # its tensors go before the next size is tried
            probe.free()

    limit = (
        probe.GPU_MARGIN * torch.cuda.get_device_properties(0).total_memory / 2**20 if cuda else probe.cpu_budget_mb()
    )
    choice = probe.choose(AUTO_BATCHES, step, limit, not cuda, (False,), what="batch")
    return choice.size, choice.note


def hardware_flops(step) -> float | None:
    """FLOPs one `step()` executes, counted by torch's FlopCounterMode (matrix products and attention kernels as
    they run: a masked window computed in full counts in full), or None where it cannot count them."""
    try:
        from torch.utils.flop_counter import FlopCounterMode

        _count_cpu_attention()
        with FlopCounterMode(display=False) as counter:
            step()
        return float(counter.get_total_flops()) or None
    except Exception:  # a kernel the counter cannot trace (a compiled or custom op): unknown, never 0
        return None


def _count_cpu_attention() -> None:
    """torch's counter knows the CUDA attention kernels but not the fused CPU one (SDPA without gradients), which
    it would count as 0 FLOPs: count it as the CUDA ones are counted."""
    import torch
    from torch.utils import flop_counter

    forward = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    backward = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu_backward", None)
    if forward is None or backward is None or forward in flop_counter.flop_registry:
        return

    @flop_counter.register_flop_formula(forward)
    def _cpu_sdpa(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
        return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)

    @flop_counter.register_flop_formula(backward)
    def _cpu_sdpa_backward(grad_out_shape, query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
        return flop_counter.sdpa_backward_flop_count(grad_out_shape, query_shape, key_shape, value_shape)
