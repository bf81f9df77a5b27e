"""One run's job: what its worker sees of the machine, and the GPU check script's refusal on a machine without one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bench.data.suite import load_suite
from bench.runners import build_runner
from bench.train.job import Job
from tests.fakes import run_here

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_run_sees_exactly_one_gpu(tiny_suite_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """With several GPUs visible, the Trainer would wrap the model in nn.DataParallel and multiply the effective
    batch: the job pins the first before anything initialises CUDA (deleting that call used to fail no test)."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    suite = load_suite(str(tiny_suite_file))
    ref = suite.runners[0]
    record = run_here(Job(suite, ref.name, build_runner(ref.runner, ref.params), 0, tmp_path / "results"))
    assert record.status == "ok" and os.environ["CUDA_VISIBLE_DEVICES"] == "3"


def test_the_gpu_check_refuses_a_machine_without_a_gpu(tmp_path: Path):
    done = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu_check.sh"), str(tmp_path / "imdb"), str(tmp_path / "out")],
        capture_output=True, text=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "no CUDA device here" in done.stderr and not (tmp_path / "out").exists()
