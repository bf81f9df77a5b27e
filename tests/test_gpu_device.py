"""What only a real GPU can show: bf16 autocast, allocator and NVML peaks, energy, no host sync in steady-state
training steps, MFU in (0, 1). Marked `gpu`: skipped without CUDA; `pytest -m gpu` on a lent GPU (< 10 minutes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bench.data import load_suite_data
from bench.data.suite import load_suite
from bench.host import mixed_precision
from bench.runners import build_runner
from bench.train.job import Job
from tests.conftest import TINY_SUITE, write_suite
from tests.fakes import run_here

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


@pytest.fixture(scope="module")
def gpu_record(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("gpu")
    text = TINY_SUITE.format(n_train=400, n_test=100, epochs=2).replace("hidden_size: 16", "hidden_size: 256")
    suite = load_suite(str(write_suite(root / "tiny.yaml", text)))
    ref = suite.runners[0]
    job = Job(suite, ref.name, build_runner(ref.runner, ref.params), 0, root / "results")
    run_here(job)
    return json.loads(job.record_path.read_text())


def test_auto_precision_is_native_bf16_where_the_gpu_has_it(gpu_record):
    expected = "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
    assert mixed_precision("auto") == expected == gpu_record["mixed_precision"]


def test_memory_peaks_are_measured_per_phase(gpu_record):
    r = gpu_record
    assert r["device"] == "cuda" and r["gpu_name"] and r["gpu_uuid"]
    assert r["peak_gpu_mem_train_mb"] > 0 and r["peak_gpu_mem_eval_mb"] > 0
    assert r["peak_gpu_mem_train_mb"] <= r["peak_gpu_mem_mb"] and r["peak_gpu_mem_eval_mb"] <= r["peak_gpu_mem_mb"]
    assert r["peak_gpu_mem_reserved_mb"] >= r["peak_gpu_mem_mb"]
    if r["nvml_scope"] is not None:  # NVML present
        assert r["peak_gpu_mem_nvml_mb"] > 0


def test_energy_is_measured_where_the_board_counts_it(gpu_record):
    r = gpu_record
    if r["train_energy_j"] is None:
        pytest.skip("this board has no NVML energy counter (MIG slice or an older GPU)")
    assert r["train_energy_j"] > 0 and r["eval_energy_j"] > 0 and 0 < r["avg_gpu_power_w"] < 2000


# None is allowed, transformers' own mask check included: bench's collator gives RoBERTa a prepared 4D mask for a
# padded batch and none for a batch without padding, so masking_utils never asks whether a 2D mask is all ones
ALLOWED_SYNC_SITES: tuple[str, ...] = ()


def sync_debug(monkeypatch: pytest.MonkeyPatch):
    """torch.cuda's sync debug mode; in the GPU check's rehearsal on a CPU ($BENCH_GPU_REHEARSAL), the fake of it in
    benchmarks/gpu_fakes.py (which warns at `.item()`, `bool(tensor)`, `torch.cuda.synchronize` and the like), and
    the folder its warnings come from."""
    import os

    if not os.environ.get("BENCH_GPU_REHEARSAL"):
        return torch.cuda, ()
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_fakes.py"
    spec = importlib.util.spec_from_file_location("gpu_fakes", path)
    fakes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fakes)
    fake = fakes.FakeSyncDebug()
    monkeypatch.setattr(torch.cuda, "synchronize", fake.synchronize)
    return fake, (str(path.parent),)


def test_no_host_sync_in_steady_state_training_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import os
    import traceback
    import warnings

    from transformers import TrainerCallback

    import bench.train.trainer as trainer_module

    sync, fake_dirs = sync_debug(monkeypatch)

    class SyncGuard(TrainerCallback):
        """Steps 3 to 6 run with torch's sync debug mode on: every host-device synchronisation warns."""

        checked = 0

        def on_step_begin(self, args, state, control, **kwargs):
            if 3 <= state.global_step < 7:
                sync.set_sync_debug_mode("warn")

        def on_step_end(self, args, state, control, **kwargs):
            if sync.get_sync_debug_mode():
                sync.set_sync_debug_mode(0)
                SyncGuard.checked += 1

    original = trainer_module.CountingTrainer.__init__

    def with_guard(self, *args, **kwargs):
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), SyncGuard()]
        original(self, *args, **kwargs)

    text = TINY_SUITE.format(n_train=400, n_test=40, epochs=1)
    suite = load_suite(str(write_suite(tmp_path / "tiny.yaml", text)))
    ref = suite.runners[0]
    monkeypatch.setattr(trainer_module.CountingTrainer, "__init__", with_guard)
    sites: list[str] = []

    def record_site(message, category, filename, lineno, file=None, line=None):
        # torch raises a sync warning from inside the op, so the warning's own filename is torch's (a call to
        # torch.cuda.synchronize shows torch/cuda/__init__.py): the site is the first frame on the stack outside torch
        if "called a synchronizing" in str(message):  # not the "prototype feature" notice set_sync_debug_mode gives
            inside = (os.path.dirname(torch.__file__), os.path.dirname(warnings.__file__), *fake_dirs)
            outside = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith(inside)]
            where = outside[-1] if outside else None
            sites.append(f"{where.filename}:{where.lineno} ({where.name})" if where else f"{filename}:{lineno}")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = record_site
            trainer_module.train_and_evaluate(
                build_runner(ref.runner, ref.params), load_suite_data(suite), suite.protocol, 0, tmp_path / "run"
            )
    finally:
        sync.set_sync_debug_mode(0)
    assert SyncGuard.checked == 4
    unexpected = [site for site in sites if not any(allowed in site for allowed in ALLOWED_SYNC_SITES)]
    assert not unexpected, f"host syncs in steady-state training steps at {sorted(set(unexpected))}"


def test_mfu_of_a_base_width_model_is_between_0_and_1(tmp_path: Path):
    from bench.profile.child import ProfileJob, measure

    runner = build_runner(
        "tiny-roberta-512", {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "vocab_size": 50265}
    )
    job = ProfileJob("base-width", runner, 512, "train", 8, 5, 2, tmp_path / "r.json")
    measured = measure(job)
    assert 0 < measured["mfu"] < 1, measured["mfu"]
    assert measured["peak_gpu_mem_mb"] > 0 and measured["precision"] in ("bf16", "fp16")
