"""What the GPU check's driver (gpu_check.py) and its steps (gpu_steps.py) share: the plan of sizes and budgets for a
GPU or the rehearsal, the check's findings, the failure a step raises, and how a step runs a command or the pretend
GPU."""

from __future__ import annotations

import os
import subprocess
import sys
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
