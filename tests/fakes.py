"""Fake runners for failure paths that a CPU cannot produce on its own (registered nowhere: tests build them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.runners.tiny import TinyRobertaRunner


def _oom_when_batch_above(limit: int, training: bool = True, after: int = 0):
    """A forward pre-hook raising the CUDA out-of-memory error for a batch of more than `limit` rows, in training
    (or, with `training=False`, in evaluation) from the `after`-th such forward of this process on."""
    seen = [0]

    def hook(module, args, kwargs):
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        if module.training != training or input_ids is None:
            return
        seen[0] += 1
        if input_ids.shape[0] > limit and seen[0] > after:
            import torch

            raise torch.OutOfMemoryError(f"CUDA out of memory (fake: batch {input_ids.shape[0]} > {limit}).")

    return hook


@dataclass(frozen=True, kw_only=True)
class OutOfMemoryAboveRunner(TinyRobertaRunner):
    """A tiny RoBERTa that raises the CUDA out-of-memory error whenever a training batch has more than `fits` rows
    (after its first `fits_from` training forwards), and an evaluation batch more than `eval_fits`."""

    fits: int = 2

    fits_from: int = 0  # training forwards of each process that fit whatever their size (then: only `fits` rows)
    eval_fits: int | None = None  # evaluation batches of more rows run out of memory too

    def build_model(self, label_names):
        model = super().build_model(label_names)
        model.register_forward_pre_hook(_oom_when_batch_above(self.fits, after=self.fits_from), with_kwargs=True)
        if self.eval_fits is not None:
            model.register_forward_pre_hook(_oom_when_batch_above(self.eval_fits, training=False), with_kwargs=True)
        return model


@dataclass(frozen=True)
class EnvJob:
    """A launcher job that records what its worker saw: the GPUs it may use and the threads it was given."""

    outcome_path: Path
    process_name: str = "bench-env-job"

    def run(self) -> None:
        import os

        import torch

        from bench.results.store import write_record

        seen = {k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "RAYON_NUM_THREADS")}
        write_record(self.outcome_path, {"status": "ok", **seen, "torch_threads": torch.get_num_threads()})

    def failure_record(self, status: str, error: str, wall_s: float | None, **fields):
        from bench.results.schema import RunRecord

        return RunRecord(status=status, error=error)

    def settle(self, record):
        return record

    def smaller(self, record=None) -> None:
        return None


def run_here(job):
    """A run's job in this process, as its worker would do it, then settled as its launcher would: its record."""
    job.run()
    return job.settle(job.store.read_outcome(job.run_key))


@dataclass(frozen=True)
class SleepJob(EnvJob):
    """A launcher job whose worker sleeps `seconds` before it leaves an ok record."""

    seconds: float = 3.0
    process_name: str = "bench-sleep-job"

    def run(self) -> None:
        import time

        from bench.results.store import write_record

        time.sleep(self.seconds)
        write_record(self.outcome_path, {"status": "ok"})
