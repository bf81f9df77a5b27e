"""Test set-up: offline, with caches in a throwaway folder, and shared fixtures (tiny suites and checkpoints)."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
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
# Under pytest-xdist (`-n auto`, the default run) each worker is its own session with its own claims folder, so it would
# size its threads as if alone: the workers share the cores instead, a fixed count each (a value the user set wins)
if os.environ.get("PYTEST_XDIST_WORKER_COUNT") and "BENCH_THREADS" not in os.environ:
    _share = max(1, len(os.sched_getaffinity(0)) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.update(BENCH_THREADS=str(_share), OMP_NUM_THREADS=str(_share), MKL_NUM_THREADS=str(_share))

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
REPO = Path(__file__).resolve().parents[1]
_KEPT = (REPO / "results", REPO / "reports", Path.cwd() / "results", Path.cwd() / "reports")


def _written(folders=_KEPT) -> set[tuple[str, int]]:
    """The entries of those folders and when each last changed (one level: cheap enough for every test)."""
    return {(e.path, e.stat().st_mtime_ns) for f in set(folders) if f.is_dir() for e in os.scandir(f)}


@pytest.fixture(autouse=True)
def _nothing_written_to_the_checkout():
    """Tests write in their own temporary folders: one writing into the checkout's results/ or reports/ (a default
    path, a missing chdir) would race the other xdist workers and leave files behind, so it fails. Compared with
    what was there when the test started, so that one test's mistake fails that test, not every later one."""
    before = _written()
    yield
    new = _written() - before
    assert not new, (
        f"a test wrote into the checkout (use tmp_path or monkeypatch.chdir): {sorted(path for path, _ in new)}"
    )


@pytest.fixture(autouse=True)
def _cpus_as_they_were():
    """A test that runs a job in its own process claims CPUs there (bench.cpus, for the process's life: pinned,
    threads sized); undone after it, so that the xdist worker's later tests (and the bench processes they start,
    which inherit its pinning) get the CPUs the worker had, not one test's claim."""
    affinity = os.sched_getaffinity(0)
    env = {
        var: os.environ.get(var)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")
    }
    yield
    cpus = sys.modules.get("bench.cpus")
    if cpus is None or not cpus._claim:
        return
    cpus.release_cpus()
    os.sched_setaffinity(0, affinity)
    for var, value in env.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value


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
