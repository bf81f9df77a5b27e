"""CPU threads sized to the machine: a worker's CPUs divided among the live bench workers that share them, resized
while they train, and left alone when sizing is off."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.launch.local import Placement, launch
from tests.fakes import EnvJob

CPUS = len(os.sched_getaffinity(0))

# a process that claims its CPUs (optionally pinned to some), says so, and waits to be killed
CLAIMER = """
import os, sys, time
if len(sys.argv) > 1:
    os.sched_setaffinity(0, {int(c) for c in sys.argv[1].split(",")})
from bench.host import claim_cpus
print(claim_cpus(), flush=True)
time.sleep(600)
"""


def python(code: str, registry: Path, *args: str, **env: str) -> subprocess.Popen:
    environ = {**os.environ, "BENCH_CPU_CLAIMS": str(registry), **env}
    environ.pop("BENCH_THREADS", None)
    environ.update(env)
    return subprocess.Popen([sys.executable, "-c", code, *args], env=environ, stdout=subprocess.PIPE, text=True)


def count(registry: Path, cpus: str | None = None) -> int:
    code = "import sys; from bench.host import _live_claims, _usable_cpus\n"
    code += "cpus = {int(c) for c in sys.argv[1].split(',')} if len(sys.argv) > 1 else _usable_cpus()\n"
    code += "print(_live_claims(cpus))"
    proc = python(code, registry, *([cpus] if cpus else []))
    return int(proc.communicate(timeout=60)[0])


def test_live_workers_share_the_cpus_and_a_dead_one_gives_them_back(tmp_path: Path):
    first = python(CLAIMER, tmp_path)
    try:
        assert int(first.stdout.readline()) == CPUS  # alone: every CPU it may use
        second = python(CLAIMER, tmp_path)
        try:
            assert int(second.stdout.readline()) == max(1, CPUS // 2)
            assert count(tmp_path) == 2
        finally:
            second.kill()  # SIGKILL: no clean-up; its lock is released by the OS and its file is found stale
            second.wait()
        assert count(tmp_path) == 1
        assert len(list(tmp_path.glob("*.cpus"))) == 1
    finally:
        first.kill()
        first.wait()


@pytest.mark.skipif(CPUS < 2, reason="needs two CPUs to pin two workers apart")
def test_workers_on_other_cpus_do_not_count(tmp_path: Path):
    cpus = sorted(os.sched_getaffinity(0))
    pinned = python(CLAIMER, tmp_path, str(cpus[1]))
    try:
        assert int(pinned.stdout.readline()) == 1
        assert count(tmp_path, str(cpus[0])) == 0  # a Slurm job on the node's other cores leaves these alone
        assert count(tmp_path, str(cpus[1])) == 1
    finally:
        pinned.kill()
        pinned.wait()


@pytest.mark.slow
def test_a_training_worker_gives_threads_back_when_another_starts(tmp_path: Path):
    code = """
import time, torch
from bench.host import claim_cpus, rebalance_threads
claim_cpus()
print(torch.get_num_threads(), flush=True)
input()  # the test starts a second worker, then says go on
time.sleep(0.05)
print(rebalance_threads(min_interval_s=0), torch.get_num_threads(), flush=True)
"""
    trainer = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, "BENCH_CPU_CLAIMS": str(tmp_path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    other = None
    try:
        assert int(trainer.stdout.readline()) == CPUS
        other = python(CLAIMER, tmp_path)
        other.stdout.readline()
        trainer.stdin.write("\n")
        trainer.stdin.flush()
        assert trainer.stdout.readline().split() == [str(max(1, CPUS // 2))] * 2
    finally:
        trainer.kill()
        if other is not None:
            other.kill()


@pytest.mark.slow
def test_the_worker_sees_its_gpus_and_its_share_of_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BENCH_CPU_CLAIMS", str(tmp_path / "claims"))
    monkeypatch.delenv("BENCH_THREADS", raising=False)  # conftest fixes it under xdist: sized here, as by default
    record = launch(EnvJob(tmp_path / "env.json"), Placement(gpus=("3",), share=2))
    assert record.facts["CUDA_VISIBLE_DEVICES"] == "3"
    threads = max(1, CPUS // 2)
    assert (record.facts["OMP_NUM_THREADS"], record.facts["RAYON_NUM_THREADS"]) == (str(threads), str(threads))
    assert record.facts["torch_threads"] == threads  # set before torch was imported


@pytest.mark.slow
def test_sizing_off_leaves_the_libraries_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BENCH_CPU_CLAIMS", str(tmp_path / "claims"))
    monkeypatch.setenv("BENCH_THREADS", "off")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    record = launch(EnvJob(tmp_path / "env.json"), Placement(share=2))
    assert record.facts["OMP_NUM_THREADS"] is None
    assert not (tmp_path / "claims").exists()
    monkeypatch.setenv("BENCH_THREADS", "1")
    assert launch(EnvJob(tmp_path / "env.json"), Placement()).facts["torch_threads"] == 1


def test_claims_are_removed_when_the_process_ends(tmp_path: Path):
    proc = python("from bench.host import claim_cpus; claim_cpus()", tmp_path)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 5
    while list(tmp_path.glob("*.cpus")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(tmp_path.glob("*.cpus"))
