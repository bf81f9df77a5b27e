"""Batches sized to the device (`per_device_batch_size: auto`, `eval_batch_size: auto`): before training, find the
largest micro-batch whose forward, backward and optimizer step on the run's longest documents fits, without
activation checkpointing where it can (it costs a third more compute), and the largest evaluation batch.

The effective batch is the protocol's whatever is chosen (the micro-batch divides it; gradient accumulation makes up
the rest), so every optimizer step is the same step: auto only changes how the work is split. On a GPU, a size fits
when its step does not run out of memory and its peak stays under `GPU_MARGIN` of the device; on a CPU, a real
out-of-memory is the kernel killing the process, so sizes are estimated from the two smallest (memory grows about
linearly in the batch) and kept under `cpu_budget_mb()`, a fixed share of the machine's total memory (or a stated
budget): the same configuration on the same machine gets the same micro-batch whatever else is running. The
out-of-memory retry stays as the safety net.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GPU_MARGIN = 0.9  # of the device's memory: the step's peak must leave the rest for fragmentation and the cache
EVAL_CANDIDATES = (256, 128, 64, 32, 16, 8, 4, 2, 1)
CPU_BUDGET_ENV = "BENCH_CPU_MEMORY_MB"


CPU_BUDGET_CAP_MB = 4096.0  # the budget the CPU suites are written for


def cpu_budget_mb() -> float:
    """What a CPU run's batches may add to its memory: $BENCH_CPU_MEMORY_MB, else half the machine's total memory
    (its cgroup's limit where lower), at most `CPU_BUDGET_CAP_MB`.

    Total, not available: the micro-batch decides how the effective batch is split, and so (through the order
    dropout and accumulation consume numbers in) the training curve; sized on the memory free at that moment, one
    key gave micro-batch 8 on one run and 1 on the next (issue 27). A fact of the machine makes `auto` the same on
    every run of it; the out-of-memory retry stays the safety net on a machine that is full at the time."""
    if os.environ.get(CPU_BUDGET_ENV):
        return float(os.environ[CPU_BUDGET_ENV])
    return min(CPU_BUDGET_CAP_MB, total_memory_mb() / 2)


def total_memory_mb() -> float:
    """This machine's memory in MB, or the memory limit of the cgroup this process runs in where lower (a
    container, a Slurm job): both fixed for the life of the process, unlike the memory free."""
    import psutil

    total = psutil.virtual_memory().total / 2**20
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):  # cgroup v2, v1
        try:
            text = Path(path).read_text(encoding="ascii").strip()
        except OSError:
            continue
        if text.isdigit():  # "max" (v2) or a huge number (v1): no limit below the machine's
            total = min(total, int(text) / 2**20)
    return total


def divisors(n: int) -> list[int]:
    """The divisors of `n`, largest first: the micro-batches that make up an effective batch exactly."""
    return [d for d in range(n, 0, -1) if n % d == 0]


class DoesNotFit(Exception):
    """A probe step ran out of memory (or would exceed the budget)."""


@dataclass(frozen=True)
class Choice:
    size: int
    checkpointing: bool
    note: str  # what was tried and why this one, for the record's `probe`


def choose(
    candidates: Sequence[int],
    step: Callable[[int, bool], float | None],
    limit_mb: float | None,
    estimate: bool,
    checkpointing_options: Sequence[bool] = (False, True),
    what: str = "micro-batch",
) -> Choice:
    """The largest of `candidates` whose `step(size, checkpointing)` fits: it raises `DoesNotFit` (or
    torch.OutOfMemoryError) when it runs out of memory, else returns the memory it used in MB (None: unknown), which
    must stay under `limit_mb`. With `estimate` (a CPU), the two smallest sizes are measured first and larger ones
    predicted linearly, so that no size is tried that would exhaust the machine. Checkpointing is only turned on
    when nothing fits without it."""
    ordered = sorted(set(candidates), reverse=True)
    tried: list[str] = []
    for checkpointing in checkpointing_options:
        start = 0
        if estimate and len(ordered) > 1 and limit_mb is not None:
            small, smaller = ordered[-1], ordered[-2]
            used = [_fits(step, size, checkpointing, limit_mb, tried) for size in (small, smaller)]
            if None not in used:
                per_doc = max(0.0, (used[1] - used[0]) / (smaller - small))
                fixed = used[0] - per_doc * small
                predicted = [fixed + per_doc * s for s in ordered]
                start = next((i for i, p in enumerate(predicted) if p <= limit_mb), len(ordered) - 1)
        for size in ordered[start:]:
            used = _fits(step, size, checkpointing, limit_mb, tried)
            if used is not False:
                limit = f" of {limit_mb:,.0f} MB allowed" if limit_mb is not None else ""
                peak = f", {used:,.0f} MB{limit}" if isinstance(used, float) else ""
                mode = "with activation checkpointing" if checkpointing else "without activation checkpointing"
                history = f" (did not fit: {', '.join(tried)})" if tried else ""
                return Choice(size, checkpointing, f"auto {what} {size} {mode}{peak}{history}")
    return Choice(
        min(ordered),
        checkpointing_options[-1],
        f"auto {what}: nothing fits ({', '.join(tried)}); trying {min(ordered)}, and the out-of-memory retry decides",
    )


def _fits(step, size: int, checkpointing: bool, limit_mb: float | None, tried: list[str]) -> float | bool | None:
    """The memory a fitting step used (None: unknown), or False; a size that does not fit is noted in `tried`."""
    try:
        used = step(size, checkpointing)
    except Exception as err:
        if not (isinstance(err, DoesNotFit) or _is_oom(err)):
            raise
        tried.append(f"{size}{' checkpointed' if checkpointing else ''}: out of memory")
        return False
    if used is not None and limit_mb is not None and used > limit_mb:
        tried.append(f"{size}{' checkpointed' if checkpointing else ''}: {used:,.0f} MB")
        return False
    return float(used) if used is not None else None


def _is_oom(err: BaseException) -> bool:
    from bench.host import is_out_of_memory

    return is_out_of_memory(err)


# ---- the steps probed, on the run's own model and longest documents ----


def free() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def gpu_step_mb(run: Callable[[], None]) -> float:
    """Peak CUDA allocator memory of `run()` in MB (raises torch.OutOfMemoryError where it does not fit)."""
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    run()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() / 2**20


def saved_mb(forward: Callable[[], Any]) -> float:
    """MB of the tensors autograd keeps for the backward pass of `forward()`: a step's activation memory, which
    grows with the batch (weights, gradients and optimizer states do not). Views are counted whole: an upper bound.

    The hook keeps a size, not the tensor: no backward runs, and a pack hook that returns the tensor itself makes a
    reference cycle (an output saved by its own node) that Python's collector cannot see, so every probed step's
    activations stayed allocated (imdb-minilm's probe held 3.9 GB after it finished)."""
    import torch

    total = [0]

    def pack(tensor):
        size = tensor.numel() * tensor.element_size()
        total[0] += size
        return size

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda size: None):
        forward()
    return total[0] / 2**20


def batch_sizes(
    runner: Any,
    label_names: Sequence[str],
    train: Any,
    evaluation: Any,
    collate: Callable[[list[dict]], dict],
    protocol: Any,
    world_size: int = 1,
    autocast: Callable[[], Any] = contextlib.nullcontext,
) -> tuple[Any, dict[str, Any]]:
    """`protocol` with its `auto` batch sizes resolved on a throwaway copy of the runner's model, and the record
    field `probe` that says what was chosen and why.

    `train`/`evaluation`: encoded splits with `input_ids`, `label` and `length`; the probe uses their longest
    documents, the batches that need the most memory. On a GPU each size is tried for real (a training step with
    the optimizer's states, or an inference pass); on a CPU its memory is the weights' gradients and AdamW states
    plus the activations autograd saves, measured at the two smallest sizes and predicted for the others."""
    import dataclasses

    import torch

    auto_train, auto_eval = protocol.per_device_batch_size == "auto", protocol.eval_batch_size == "auto"
    if not (auto_train or auto_eval):
        return protocol, {"probe": None}
    cuda = torch.cuda.is_available()
    limit = GPU_MARGIN * torch.cuda.get_device_properties(0).total_memory / 2**20 if cuda else cpu_budget_mb()
    device = torch.device("cuda" if cuda else "cpu")  # a runner's model may be any nn.Module: no `.device` to ask
    model = runner.build_model(list(label_names)).to(device)
    notes: list[str] = []
    changes: dict[str, Any] = {}
    if auto_train:
        longest = _longest(train, protocol.batch_size // world_size)
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.0)
        fixed_mb = 3 * sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20  # grads + 2 AdamW
        can_checkpoint = hasattr(model, "gradient_checkpointing_enable")

        def train_step(size: int, checkpointing: bool) -> float | None:
            if can_checkpoint:
                (model.gradient_checkpointing_enable if checkpointing else model.gradient_checkpointing_disable)()
            model.train()
            batch = {k: v.to(device) for k, v in collate(longest[:size]).items()}

            def forward():
                with autocast():
                    return model(**batch).loss

            def step():
                forward().backward()
                optimizer.step()

            try:
                return gpu_step_mb(step) if cuda else fixed_mb + saved_mb(forward)
            finally:
                optimizer.zero_grad(set_to_none=True)
                batch.clear()
                free()

        if not can_checkpoint:  # a wrapper model (chunks) trains without it
            options: tuple[bool, ...] = (False,)
        else:
            options = (True,) if protocol.gradient_checkpointing else (False, True)
        choice = choose(divisors(protocol.batch_size // world_size), train_step, limit, not cuda, options)
        changes.update(per_device_batch_size=choice.size, gradient_checkpointing=choice.checkpointing)
        notes.append(choice.note)
        if can_checkpoint:
            model.gradient_checkpointing_disable()
        del optimizer
        free()
    if auto_eval:
        longest = _longest(evaluation, max(EVAL_CANDIDATES))

        def eval_step(size: int, checkpointing: bool) -> float | None:
            model.eval()
            batch = {k: v.to(device) for k, v in collate(longest[:size]).items()}

            def forward():
                with autocast():
                    return model(**batch)

            def infer():
                with torch.inference_mode():
                    forward()

            try:  # on a CPU, what a training forward saves bounds what an inference pass holds at once
                return gpu_step_mb(infer) if cuda else saved_mb(forward)
            finally:
                batch.clear()
                free()

        choice = choose(list(EVAL_CANDIDATES), eval_step, limit, not cuda, (False,), what="evaluation batch")
        changes["eval_batch_size"] = choice.size
        notes.append(choice.note)
    model = None  # the probe's copy is gone before the run's own is built
    free()
    if cuda:
        where = "probed on the longest documents on the GPU"
    else:
        stated = (
            f"${CPU_BUDGET_ENV}"
            if os.environ.get(CPU_BUDGET_ENV)
            else f"half the total memory, at most {CPU_BUDGET_CAP_MB:,.0f} MB"
        )
        where = f"probed on the longest documents on the CPU, within {limit:,.0f} MB ({stated})"
    return dataclasses.replace(protocol, **changes), {"probe": f"{'; '.join(notes)} ({where})"}


def _longest(split: Any, n: int) -> list[dict]:
    """The `n` longest documents of an encoded split (repeated where it has fewer), as collator features."""
    ordered = split.sort("length", reverse=True).select(range(min(n, len(split))))
    rows = ordered.select_columns(["input_ids", "label"]).to_list()
    return (rows * (n // max(1, len(rows)) + 1))[:n]
