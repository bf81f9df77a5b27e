"""A run's CPUs (bench/cpus.py): claimed disjoint from other bench workers' and fixed for the run's whole life
(pinned, never resized), equal shares for the runs launched together, a worker queued while others hold its share,
the cgroup's CPU quota respected, and sizing left alone when it is off."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.launch.local import Placement, launch
from tests.conftest import TINY_SUITE, write_suite
from tests.fakes import EnvJob

CPUS = len(os.sched_getaffinity(0))

# a process that claims its CPUs (optionally pinned to some first, with a share), says what it got, and waits
CLAIMER = """
import os, sys, time
if len(sys.argv) > 1 and sys.argv[1]:
    os.sched_setaffinity(0, {int(c) for c in sys.argv[1].split(",")})
try:
    import bench.cpus as cpus
except ImportError:  # bench before 65e8abe's successor (the regression tests run on the old code too)
    import bench.host as cpus
if len(sys.argv) > 3:
    cpus.CGROUP_ROOT = __import__("pathlib").Path(sys.argv[3])
threads = cpus.claim_cpus(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
print(threads, ",".join(map(str, sorted(os.sched_getaffinity(0)))), flush=True)
time.sleep(600)
"""


def python(code: str, registry: Path, *args: str, **env: str) -> subprocess.Popen:
    environ = {**os.environ, "BENCH_CPU_CLAIMS": str(registry)}
    environ.pop("BENCH_THREADS", None)
    environ.update(env)
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def line(proc: subprocess.Popen, timeout: float = 60) -> str | None:
    """The process's next line of output, or None when it has said nothing within `timeout` seconds."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline().strip() if ready else None


def stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        proc.kill()  # SIGKILL: no clean-up; its lock is released by the OS and its file is found stale
        proc.wait()


def test_a_second_worker_waits_for_the_cpus_and_then_gets_the_same_share(tmp_path: Path):
    first = python(CLAIMER, tmp_path)
    second = None
    try:
        assert line(first).split()[0] == str(CPUS)  # alone: every CPU it may use
        second = python(CLAIMER, tmp_path)
        # 65e8abe started it at once on half the CPUs (and resized the first): unequal conditions for both
        assert line(second, timeout=3) is None
        stop(first)
        got = line(second)
        assert got is not None and got.split()[0] == str(CPUS)  # queued, then the same share the first had
        second.kill()
        assert "waiting for" in second.communicate(timeout=30)[1]
        assert len(list(tmp_path.glob("*.cpus"))) <= 1
    finally:
        stop(*(p for p in (first, second) if p is not None))


@pytest.mark.skipif(CPUS < 2, reason="needs two CPUs to share out")
def test_workers_launched_to_share_get_disjoint_equal_cpus(tmp_path: Path):
    a, b = python(CLAIMER, tmp_path, "", "2"), python(CLAIMER, tmp_path, "", "2")
    try:
        (ta, ca), (tb, cb) = line(a).split(), line(b).split()
        assert ta == tb == str(CPUS // 2)
        assert not set(ca.split(",")) & set(cb.split(","))  # each pinned to CPUs of its own
    finally:
        stop(a, b)


# a worker that claims its CPUs, then starts two ranks of one distributed run, as bench.train.job's launcher does
LAUNCHER = """
import os, subprocess, sys
import bench.cpus as cpus
cpus.claim_cpus(1)
rank = "import os, bench.cpus as c; t = c.share_launcher_cpus(int(os.environ['LOCAL_RANK']), 2); "
rank += "print(t, ','.join(map(str, sorted(os.sched_getaffinity(0)))), flush=True)"
ranks = [subprocess.Popen([sys.executable, "-c", rank], env={**os.environ, "LOCAL_RANK": str(i)},
                          stdout=subprocess.PIPE, text=True) for i in (0, 1)]
for r in ranks:
    out, _ = r.communicate(timeout=60)
    print(out.strip(), flush=True)
print(",".join(map(str, sorted(os.sched_getaffinity(0)))), flush=True)
"""


def test_the_ranks_of_a_run_share_its_claim_and_never_wait_for_it(tmp_path: Path):
    """The ranks took part of their launcher's CPUs; a rank that claimed from the registry waited for CPUs its own
    launcher held (forever: rank 0 waited for it in the process group, and the slow distributed test hung)."""
    launcher = python(LAUNCHER, tmp_path)
    try:
        got = [line(launcher, timeout=30) for _ in range(3)]
        assert None not in got, f"a rank waited for its launcher's CPUs: {got}"
        (t0, c0), (t1, c1), held = got[0].split(), got[1].split(), set(got[2].split(","))
        assert t0 == t1 == str(max(1, CPUS // 2))
        assert set(c0.split(",")) <= held and set(c1.split(",")) <= held
        assert CPUS < 2 or not set(c0.split(",")) & set(c1.split(","))  # each rank on CPUs of its own
    finally:
        stop(launcher)


@pytest.mark.skipif(CPUS < 2, reason="needs two CPUs to pin two workers apart")
def test_workers_on_other_cpus_do_not_count(tmp_path: Path):
    cpus = sorted(os.sched_getaffinity(0))
    pinned = python(CLAIMER, tmp_path, str(cpus[1]))
    other = None
    try:
        assert line(pinned) == f"1 {cpus[1]}"
        other = python(CLAIMER, tmp_path, str(cpus[0]))  # a Slurm job on the node's other cores is left alone
        assert line(other, timeout=60) == f"1 {cpus[0]}"
    finally:
        stop(*(p for p in (pinned, other) if p is not None))


def test_the_cgroup_quota_caps_the_cpus_and_threads(tmp_path: Path):
    from bench.cpus import cpu_pool, cpu_quota  # 65e8abe read no quota: it has no such module

    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    (cgroup / "cpu.max").write_text("100000 100000\n")  # one CPU's time per second, whatever the affinity
    assert cpu_quota(cgroup) == 1.0
    (cgroup / "cpu.max").write_text("max 100000\n")
    assert cpu_quota(cgroup) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("250000")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cpu_quota(v1) == 2.5
    assert cpu_quota(tmp_path / "none") is None and len(cpu_pool()) >= 1
    (cgroup / "cpu.max").write_text("100000 100000\n")
    capped = python(CLAIMER, tmp_path / "claims", "", "1", str(cgroup))
    try:
        threads, cpus = line(capped).split()
        assert threads == "1" and len(cpus.split(",")) == 1  # 65e8abe: one thread per CPU of the affinity
    finally:
        stop(capped)


@pytest.mark.slow
@pytest.mark.skipif(CPUS < 2, reason="one CPU: no share to change")
def test_a_training_run_keeps_its_threads_when_another_bench_process_starts(tmp_path: Path):
    """65e8abe resized a training run's threads when another bench worker registered (rebalance_threads): the run's
    times then mixed two conditions. Now its threads stay as they started, and the newcomer waits."""
    text = TINY_SUITE.format(n_train=300, n_test=20, epochs=2).replace(
        "batch_size: 8, per_device_batch_size: 8", "batch_size: 4, per_device_batch_size: 4"
    )
    suite = write_suite(tmp_path / "tiny.yaml", text)
    registry = tmp_path / "claims"
    env = {**os.environ, "BENCH_CPU_CLAIMS": str(registry)}
    env.pop("BENCH_THREADS", None)
    run = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--suite", str(suite), "--results", str(tmp_path / "r"), "--verbose"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    newcomer = None
    try:
        for text_line in run.stdout:  # the worker has claimed its CPUs and starts (its title line)
            if "threads —" in text_line:
                break
        newcomer = python(CLAIMER, registry)  # another bench worker, while the run trains
        run.stdout.read()
        assert run.wait(timeout=600) == 0
        record = json.loads((tmp_path / "r" / "tiny" / "runs" / "tiny-roberta-128" / "seed0.json").read_text())
        assert record["environment"]["torch_threads"] == CPUS  # 65e8abe: resized to CPUS // 2 mid-run
        assert record["cpu_threads"] == CPUS and len(record["cpus"].split(",")) == CPUS
        got = line(newcomer)  # it waited for the run's CPUs, then got them all (65e8abe: half, at once)
        assert got is not None and got.split()[0] == str(CPUS)
    finally:
        run.kill()
        if newcomer is not None:
            stop(newcomer)


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
    proc = python("from bench.cpus import claim_cpus; claim_cpus()", tmp_path)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 5
    while list(tmp_path.glob("*.cpus")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(tmp_path.glob("*.cpus"))
