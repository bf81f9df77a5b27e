"""Test set-up: offline, with caches in a throwaway folder, and shared fixtures (tiny suites and checkpoints)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Set before anything imports datasets/transformers: nothing may reach the Hub, nothing may touch ~/.cache.
_CACHE = Path(tempfile.mkdtemp(prefix="bench-test-cache-"))
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ.update(
    HF_HUB_OFFLINE="1",
    HF_DATASETS_OFFLINE="1",
    TRANSFORMERS_OFFLINE="1",
    BENCH_CACHE=str(_CACHE / "bench"),
    HF_DATASETS_CACHE=str(_CACHE / "datasets"),
    HF_HOME=str(_CACHE / "hf"),
    TOKENIZERS_PARALLELISM="false",
    # bench workers size their threads by the other bench workers on the machine; a test session counts only its
    # own, so that another session's runs cannot change its thread counts (and so the last bits of its results)
    BENCH_CPU_CLAIMS=str(_CACHE / "cpu-claims"),
)

import pytest  # noqa: E402

# $BENCH_IMDB_DIR points elsewhere (a worktree outside the repository's folder has no ../shared beside it)
SHARED_IMDB = Path(os.environ.get("BENCH_IMDB_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data" / "imdb")


@pytest.fixture
def imdb_dir() -> Path:
    """The real IMDB copy beside the repository (../shared/data/imdb); tests using it skip where it is absent."""
    if not (SHARED_IMDB / "train.jsonl.gz").exists():
        pytest.skip(f"real IMDB copy not found at {SHARED_IMDB} (set BENCH_IMDB_DIR; see docs/testing.md)")
    return SHARED_IMDB


def write_suite(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


TINY_SUITE = """
name: tiny
data:
  source: synthetic
  synthetic: {{n_train: {n_train}, n_test: {n_test}, min_tokens: 40, max_tokens: 80, cue_length: 4, filler_vocab: 30, seed: 0}}
  label_names: [negative, positive]
runners:
  - {{runner: tiny-roberta-128, hidden_size: 16, num_layers: 1, vocab_size: 200}}
seeds: [0]
protocol: {{epochs: {epochs}, learning_rate: 5.0e-3, batch_size: 8, per_device_batch_size: 8, eval_batch_size: 16}}
"""


@pytest.fixture
def tiny_suite_file(tmp_path: Path) -> Path:
    """A suite that trains in seconds: 60 short synthetic documents, one 1-layer runner."""
    return write_suite(tmp_path / "tiny.yaml", TINY_SUITE.format(n_train=60, n_test=20, epochs=2))


GPU_REHEARSABLE = ("test_no_host_sync_in_steady_state_training_steps",)  # run on benchmarks/gpu_fakes.py's fakes


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `gpu` run where CUDA is, and are skipped with a reason elsewhere; in the GPU check's rehearsal
    ($BENCH_GPU_REHEARSAL, benchmarks/gpu_check.sh --rehearse) those that can run on its fakes run here too."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (run `pytest -m gpu` on a machine with one)")
    rehearsal = bool(os.environ.get("BENCH_GPU_REHEARSAL"))
    for item in items:
        if rehearsal and item.name in GPU_REHEARSABLE:
            continue
        if "gpu" in item.keywords:
            item.add_marker(skip)
