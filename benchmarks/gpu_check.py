"""The GPU check's steps, on a GPU or (`--rehearse`) on a CPU through the fakes of benchmarks/gpu_fakes.py.

Run by benchmarks/gpu_check.sh. Both modes run the same steps through the same entry points (pytest, `bench run`,
`bench profile`, and bench's probe, profiler and runners in this process); the rehearsal differs in sizes only
(tiny models, a few documents and steps) and in where a GPU is needed: there the pretend GPU of gpu_fakes.py stands
in. What comes out is one Markdown page and one JSON file (benchmarks/gpu_page.py), each figure beside its goal.

Exit status: 0 when every step ran and checked out (a missed goal is a result, on the page), 1 when a step failed
(a `FAIL <step>: <why>` line says which), 2 on a CPU without --rehearse.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FAKE_MB_ENV = "BENCH_GPU_CHECK_FAKE_MB"  # the pretend GPU's memory in the rehearsal (default FAKE_MB)
FAKE_MB = 12.0  # small enough that the probe's search meets sizes that do not fit the tiny models
REHEARSAL_ENV = "BENCH_GPU_REHEARSAL"  # set for the rehearsal's pytest step: the sync test runs on the fake

GPU_SUITE = """name: gpu-check
description: random-weight full-size architectures on synthetic documents of 4,000-4,096 tokens, one short epoch
data:
  source: synthetic
  synthetic: {n_train: 320, n_test: 64, min_tokens: 4000, max_tokens: 4096, cue_length: 8, filler_vocab: 2000, seed: 0}
  label_names: [negative, positive]
runners:
  - roberta-512
  - longformer-512-4096
  - {runner: modernbert-8192, max_length: 4096, alias: modernbert-4096}
seeds: [0]
protocol: {epochs: 1, batch_size: 32, per_device_batch_size: auto, eval_batch_size: auto, learning_rate: 3.0e-5}
"""
REHEARSAL_SUITE = """name: gpu-check
description: the GPU check's suite in miniature, for its CPU rehearsal
data:
  source: synthetic
  synthetic: {n_train: 32, n_test: 8, min_tokens: 100, max_tokens: 128, cue_length: 4, filler_vocab: 200, seed: 0}
  label_names: [negative, positive]
runners:
  - {runner: tiny-roberta-512, max_length: 128, hidden_size: 32, num_layers: 1, vocab_size: 500}
  - {runner: tiny-longformer-2048, max_length: 128, hidden_size: 32, num_layers: 1, vocab_size: 500}
seeds: [0]
protocol: {epochs: 1, batch_size: 32, per_device_batch_size: auto, eval_batch_size: auto, learning_rate: 3.0e-5}
"""


@dataclass
class Plan:
    """What each step runs: the GPU's sizes, or the rehearsal's."""

    rehearse: bool
    results: Path
    imdb: Path
    suite_text: str
    profile_runs: list[list[str]]  # `bench profile` argument lists
    roberta: str  # the runner whose MFU at `roberta_len` is the goal
    roberta_len: int
    minilm_limit: int
    budgets: dict[str, int]  # seconds per step

    @classmethod
    def make(cls, rehearse: bool, results: Path, imdb: Path) -> Plan:
        if rehearse:
            tiny = ["--runners", "tiny-roberta-512", "--lengths", "128", "--batch-size", "2", "--steps", "2"]
            return cls(
                True,
                results,
                imdb,
                REHEARSAL_SUITE,
                [[*tiny, "--warmup", "1", "--threads", "1"]],
                "tiny-roberta-512",
                128,
                40,
                dict.fromkeys(STEP_NAMES, 300),
            )
        common = ["--random-init", "--batch-size", "8", "--steps", "10", "--warmup", "3"]
        runs = [
            [*common, "--runners", "roberta-512", "--lengths", "512"],
            [*common, "--runners", "longformer-512-4096,modernbert-8192", "--lengths", "512,4096"],
        ]
        budgets = dict(zip(STEP_NAMES, (60, 150, 120, 30, 90), strict=True))  # 7.5 minutes at most
        return cls(False, results, imdb, GPU_SUITE, runs, "roberta-512@random-init", 512, 3000, budgets)


STEP_NAMES = (
    "1. host syncs in steady-state training steps",
    "2. auto micro-batch, training throughput and what set the pace",
    "3. bench profile: wall and GPU time per step, MFU and HFU",
    "4. attention kernels",
    "5. minilm-128 on IMDB reviews",
)


@dataclass
class Check:
    plan: Plan
    steps: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)  # name -> {value, source, ...}
    tables: dict[str, str] = field(default_factory=dict)  # step -> text, for the page

    def figure(self, name: str, value: Any, source: str, **more: Any) -> None:
        self.figures[name] = {"value": value, "source": source, **more}

    @property
    def gpu_source(self) -> str:
        """Where a figure a GPU step measures comes from in this mode."""
        return "fake GPU (CPU time and a pretend allocator)" if self.plan.rehearse else "GPU"

    @property
    def run_source(self) -> str:
        return "CPU (rehearsal run)" if self.plan.rehearse else "GPU"


class StepFailed(Exception):
    """A step is broken (or found what it checks against); `output`: the command's whole output, where one ran."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


def sh(args: list[str], budget: int, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    """Run a command under the step's budget; its output's tail. At the budget it gets Ctrl-C (SIGINT), as
    `timeout --signal=INT` gave it: bench keeps what finished, and the same check resumes it. `bench run` runs in the
    results folder, so that its reports/ go there too, not into the checkout."""
    import signal

    print("$", " ".join(args), flush=True)
    proc = subprocess.Popen(
        args, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        stdout, _ = proc.communicate(timeout=budget)
    except subprocess.TimeoutExpired as err:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        raise StepFailed(f"over its {budget} s budget: {' '.join(args[:4])}") from err
    done = subprocess.CompletedProcess(args, proc.returncode, stdout, "")
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
    print(tail, flush=True)
    if done.returncode:
        last = tail.splitlines()[-1] if tail else ""
        raise StepFailed(f"`{' '.join(args[:4])}` exited {done.returncode}: {last}", stdout)
    return tail


def bench_cli() -> list[str]:
    return [sys.executable, "-m", "bench"]


def fake_mb() -> float:
    return float(os.environ.get(FAKE_MB_ENV) or FAKE_MB)


def gpu_context(check: Check, total_mb: float | None = None):
    """The pretend GPU in the rehearsal (of `total_mb`, else $BENCH_GPU_CHECK_FAKE_MB or FAKE_MB); nothing on a
    GPU."""
    import contextlib

    if not check.plan.rehearse:
        return contextlib.nullcontext()
    from gpu_fakes import fake_cuda

    return fake_cuda(total_mb or fake_mb())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("imdb", nargs="?", default="../shared/data/imdb")
    parser.add_argument("results", nargs="?", default=None)
    parser.add_argument("--rehearse", action="store_true", help="on a CPU: tiny models, fakes where a GPU is needed")
    parser.add_argument("--steps", default=None, help="comma-separated step numbers to run, e.g. 2,3 (default: all)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    import torch

    if not args.rehearse and not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA device here; this check measures a GPU: run it on a machine with one, or "
            "rehearse it on this CPU with --rehearse",
            file=sys.stderr,
        )
        return 2
    results = Path(args.results or ("results/gpu-rehearsal" if args.rehearse else "results/gpu-check")).resolve()
    results.mkdir(parents=True, exist_ok=True)
    import gpu_steps
    from gpu_page import write_page

    check = Check(Plan.make(args.rehearse, results, Path(args.imdb).resolve()))
    started = time.perf_counter()
    functions = (gpu_steps.host_sync, gpu_steps.train, gpu_steps.profile, gpu_steps.kernels, gpu_steps.minilm)
    chosen = {int(n) for n in args.steps.split(",")} if args.steps else set(range(1, len(STEP_NAMES) + 1))
    for number, (name, run) in enumerate(zip(STEP_NAMES, functions, strict=True), start=1):
        if number not in chosen:
            continue
        budget = check.plan.budgets[name]
        print(f"\n== {name} (budget {budget}s, {time.perf_counter() - started:.0f}s so far)", flush=True)
        began = time.perf_counter()
        status, note = "ok", ""
        try:
            note = run(check, name, budget) or ""
            if note.startswith("skipped"):
                status = "skipped"
        except Exception as err:  # any failure of a step is the check's finding: said, and the next step runs
            status, note = "FAIL", str(err) if isinstance(err, StepFailed) else f"{type(err).__name__}: {err}"
            if not isinstance(err, StepFailed):
                traceback.print_exc()
        check.steps.append(
            {
                "step": name,
                "status": status,
                "seconds": round(time.perf_counter() - began, 1),
                "budget_s": budget,
                "note": note,
            }
        )
        if status == "FAIL":
            print(f"FAIL {name}: {note}", flush=True)
    wall = time.perf_counter() - started
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else results
    page, data = write_page(check, wall, out)
    print(f"\n== the page ({wall:.0f}s in all)")
    print(page.read_text())
    print(f"gpu_check wrote {page} and {data}")
    return 1 if any(s["status"] == "FAIL" for s in check.steps) else 0


if __name__ == "__main__":  # as the module gpu_steps imports, so that its StepFailed is this one
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import gpu_check

    sys.exit(gpu_check.main())
