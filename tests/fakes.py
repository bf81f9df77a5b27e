"""Fake runners for failure paths that a CPU cannot produce on its own (registered nowhere: tests build them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.runners.tiny import TinyRobertaRunner


def _oom_when_batch_above(limit: int):
    def hook(module, args, kwargs):
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        if module.training and input_ids is not None and input_ids.shape[0] > limit:
            import torch

            raise torch.OutOfMemoryError(f"CUDA out of memory (fake: batch {input_ids.shape[0]} > {limit}).")

    return hook


@dataclass(frozen=True, kw_only=True)
class OutOfMemoryAboveRunner(TinyRobertaRunner):
    """A tiny RoBERTa that raises the CUDA out-of-memory error whenever a training batch has more than `fits` rows."""

    fits: int = 2

    def build_model(self, label_names):
        model = super().build_model(label_names)
        model.register_forward_pre_hook(_oom_when_batch_above(self.fits), with_kwargs=True)
        return model


@dataclass(frozen=True)
class EnvJob:
    """A launcher job that records what its worker saw: the GPUs it may use and the threads it was given."""

    record_path: Path
    process_name: str = "bench-env-job"

    def run(self) -> None:
        import os

        import torch

        from bench.results.store import write_record

        seen = {k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "RAYON_NUM_THREADS")}
        write_record(self.record_path, {"status": "ok", **seen, "torch_threads": torch.get_num_threads()})

    def failure_record(self, status: str, error: str, wall_s: float | None) -> dict:
        return {"status": status, "error": error}

    def smaller(self) -> None:
        return None
