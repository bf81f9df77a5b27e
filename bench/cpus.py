"""CPUs for a run, fixed for its whole duration, and what else the machine did on them while it ran.

Two bench processes that each start one OpenMP thread per core on the same cores do not share them: idle OpenMP
threads spin-wait, and a pair of runs on 2 cores was measured at 3-12x the time of one (issue 13). Resizing a run's
threads while it trains, as bench once did, left its cost figures describing no fixed condition: the demo's first
runner trained at 2 threads and the next three at 1, and the report compared their times (issue 27). So:

- a worker claims a fixed set of CPUs for its whole life, disjoint from every other live bench worker's, in a
  registry (one file per process listing its CPUs, held under an flock the OS releases when the process dies); it
  is pinned to them (`sched_setaffinity`) and its thread pools are sized to them, once, before torch is imported;
- its share is its pool (the CPUs it may use, capped by the cgroup's CPU quota, `cpu.max`) divided by the runs
  launched to share that pool (`--jobs`, a distributed run's ranks): equal shares;
- where fewer CPUs are free than its share (another `bench run` holds them), it waits, queued, until they are,
  and says so: it never starts on fewer;
- the record says what the run got (`conditions`) and what else ran on its CPUs while it trained (`HostLoad`).

`BENCH_THREADS=off` keeps the libraries' own defaults (no claim, no pinning), `BENCH_THREADS=N` fixes the thread
count (the CPUs claimed are still its own, at most N), `BENCH_CPU_CLAIMS=DIR` moves the registry. Pure Python; torch
is never imported here (a pool already running is resized through `sys.modules`).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

THREADS_ENV = "BENCH_THREADS"  # "auto" (default), "off" (libraries' own defaults), or a fixed count
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")
CGROUP_ROOT = Path("/sys/fs/cgroup")
POLL_S = 0.5  # how often a queued worker looks for free CPUs
_claim: dict[str, Any] = {}  # this process's claim: its file, its CPUs, its threads, how long it waited


def _registry() -> Path:
    import tempfile

    default = Path(tempfile.gettempdir()) / f"bench-cpu-claims-{os.getuid()}"
    return Path(os.environ.get("BENCH_CPU_CLAIMS", default))


def _usable_cpus() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return set(range(os.cpu_count() or 1))


def cpu_quota(root: Path | None = None) -> float | None:
    """The cgroup's CPU quota in CPUs (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`): 1.5 means
    one and a half CPUs' time per second whatever the affinity allows; None where there is no quota or no cgroup."""
    root = root or CGROUP_ROOT
    try:
        parts = (root / "cpu.max").read_text().split()  # "max 100000" or "150000 100000"
    except OSError:
        parts = []
    if parts:
        try:
            return float(parts[0]) / float(parts[1]) if parts[0] != "max" and float(parts[1]) > 0 else None
        except (ValueError, IndexError):
            return None
    for folder in ("cpu", "cpu,cpuacct"):
        try:
            quota_us = float((root / folder / "cpu.cfs_quota_us").read_text())
            period_us = float((root / folder / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return quota_us / period_us if quota_us > 0 and period_us > 0 else None
    return None


def cpu_pool() -> list[int]:
    """The CPUs this process's runs share out, sorted: those it may use, cut to the cgroup's quota (a quota of 2.5
    CPUs on 16: the first 2), so that threads never outnumber the CPU time the process is allowed."""
    cpus = sorted(_usable_cpus())
    quota = cpu_quota()
    if quota is not None and quota < len(cpus):
        cpus = cpus[: max(1, math.floor(quota))]
    return cpus


def _parse(text: str) -> set[int]:
    return {int(c) for c in text.split(",") if c.strip().isdigit()}


def _held() -> dict[int, set[int]]:
    """The CPUs of every other live claim in the registry, by process id; stale files (their process died without
    cleaning up) are removed."""
    import fcntl

    held: dict[int, set[int]] = {}
    for path in _registry().glob("*.cpus"):
        if path == _claim.get("path"):
            continue
        try:
            with open(path, "rb+") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # held: its process is alive
                    pid = int(path.stem) if path.stem.isdigit() else -1
                    held[pid] = _parse(f.read().decode())
                    continue
                path.unlink(missing_ok=True)
        except OSError:
            continue
    return held


def _wanted(share: int, pool: list[int]) -> tuple[int, int]:
    """(threads, CPUs to claim) for one of `share` runs on `pool`."""
    setting = os.environ.get(THREADS_ENV, "auto").strip().lower()
    if setting.isdigit() and int(setting) > 0:
        return int(setting), min(int(setting), len(pool))
    n = max(1, len(pool) // max(share, 1))
    return n, n


def claim_cpus(share: int = 1, out=None) -> int | None:
    """Claim this process's CPUs for its whole life, pin it to them and size its thread pools; the thread count
    (None where `BENCH_THREADS=off`). `share`: how many runs were launched to share the pool with it. Waits, saying
    so on `out` (stderr), while other bench processes hold the CPUs its share needs. Call before torch is imported
    where possible (tokenizers' pool reads its size once). A second call returns the first claim's count."""
    if os.environ.get(THREADS_ENV, "auto").strip().lower() == "off":
        return None
    if "threads" in _claim:
        return _claim["threads"]
    import fcntl

    pool = cpu_pool()
    threads, n = _wanted(share, pool)
    started, said = time.monotonic(), False
    cpus: list[int] | None = None
    folder = _registry()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        while cpus is None:
            with open(folder / ".lock", "wb") as lock:  # one process chooses at a time: claims never overlap
                fcntl.flock(lock, fcntl.LOCK_EX)
                held = _held()
                taken = set().union(*held.values()) if held else set()
                free = [c for c in pool if c not in taken]
                if len(free) >= n:
                    cpus = free[:n]
                    _write_claim(folder, cpus)
                    break
            if not said:
                pids = ", ".join(str(p) for p, theirs in sorted(held.items()) if theirs & set(pool))
                print(
                    f"bench: waiting for {n} free CPU(s) of {len(pool)}: bench process(es) {pids} hold them (a run "
                    "starts on its full share only, so that its times are comparable)",
                    file=out or sys.stderr,
                    flush=True,
                )
                said = True
            time.sleep(POLL_S)
    except OSError:  # no registry (read-only /tmp): the share alone, unpinned
        cpus = None
    if cpus is not None:
        with contextlib.suppress(AttributeError, OSError):  # not Linux: threads sized, not pinned
            os.sched_setaffinity(0, cpus)
    _claim.update(threads=threads, cpus=cpus, waited_s=time.monotonic() - started)
    _set_threads(threads)
    return threads


def share_launcher_cpus(index: int, count: int) -> int | None:
    """In rank `index` of `count` ranks on this node: pin it to its part of the CPUs it inherited (its launcher's
    claim, held for the run) and size its threads; the thread count (None where `BENCH_THREADS=off`). Never waits:
    the registry holds the launcher's claim, and ranks waiting there for CPUs their own run holds would wait
    forever, rank 0 in the process group for the rank still waiting."""
    if os.environ.get(THREADS_ENV, "auto").strip().lower() == "off":
        return None
    if "threads" in _claim:
        return _claim["threads"]
    inherited = cpu_pool()
    threads, n = _wanted(count, inherited)
    start = (index * n) % len(inherited)
    cpus = (inherited[start:] + inherited[:start])[:n]  # more ranks than CPUs: they share, round the pool
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, cpus)
    _claim.update(threads=threads, cpus=cpus, waited_s=0.0)
    _set_threads(threads)
    return threads


def _write_claim(folder: Path, cpus: list[int]) -> None:
    import atexit
    import fcntl
    from multiprocessing import util

    tmp = folder / f".{os.getpid()}.tmp"
    f = open(tmp, "wb+")  # noqa: SIM115 (held open, and locked, for the life of the process)
    fcntl.flock(f, fcntl.LOCK_EX)
    f.write(",".join(map(str, cpus)).encode())
    f.flush()
    path = tmp.rename(folder / f"{os.getpid()}.cpus")  # locked before it is visible: never taken for stale
    _claim.update(path=path, file=f)
    atexit.register(release_cpus)
    util.Finalize(None, release_cpus, exitpriority=0)  # a multiprocessing child skips atexit


def release_cpus() -> None:
    """Leave the registry (at exit; and between tests that claim in their own process)."""
    path, f = _claim.pop("path", None), _claim.pop("file", None)
    if path is not None:
        path.unlink(missing_ok=True)
        f.close()
    for name in ("threads", "cpus", "waited_s"):
        _claim.pop(name, None)


def _set_threads(threads: int) -> None:
    for var in _THREAD_VARS:  # read by OpenMP, MKL, OpenBLAS and tokenizers when they start
        os.environ[var] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:  # already running: size its pool (OpenMP's too; this is the thread that runs the model)
        torch.set_num_threads(threads)


def conditions() -> dict[str, Any]:
    """The record fields saying what this process ran on: its threads, the CPUs it was pinned to, the cgroup's
    quota, and how long it waited for its CPUs. None where not known (sizing off: the threads torch reports)."""
    torch = sys.modules.get("torch")
    threads = _claim.get("threads") or (torch.get_num_threads() if torch is not None else None)
    cpus = _claim.get("cpus")
    waited = _claim.get("waited_s")
    return {
        "cpu_threads": threads,
        "cpus": ",".join(map(str, cpus)) if cpus else None,
        "cpu_quota": cpu_quota(),
        "cpu_wait_s": round(waited, 3) if waited is not None else None,
    }


def _cpu_jiffies(cpus: set[int]) -> tuple[int, int, int] | None:
    """(busy, steal, total) clock ticks of `cpus` since boot, from /proc/stat; None where it cannot be read."""
    busy = steal = total = 0
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return None
    found = False
    for line in lines:
        name, _, rest = line.partition(" ")
        if not (name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus):
            continue
        v = [int(x) for x in rest.split()[:8]] + [0] * 8  # user nice system idle iowait irq softirq steal
        busy += v[0] + v[1] + v[2] + v[5] + v[6]
        steal += v[7]
        total += sum(v[:8])
        found = True
    return (busy, steal, total) if found else None


class HostLoad:
    """What else ran on this process's CPUs over a block: other processes' CPU use in CPUs (the CPUs' busy time
    less this process's own, over the wall time), the hypervisor's steal, and the load average at its end.
    `fields` holds them as record fields, None where /proc cannot tell."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {"host_other_cpus": None, "cpu_steal": None, "load_avg": None}

    def _snapshot(self) -> tuple[tuple[int, int, int] | None, float, float]:
        own = os.times()
        return _cpu_jiffies(self.cpus), own.user + own.system, time.monotonic()

    def __enter__(self) -> HostLoad:
        self.cpus = set(_claim.get("cpus") or _usable_cpus())
        self._start = self._snapshot()
        return self

    def __exit__(self, *exc: object) -> None:
        (j0, own0, t0), (j1, own1, t1) = self._start, self._snapshot()
        with contextlib.suppress(AttributeError, OSError):
            self.fields["load_avg"] = round(os.getloadavg()[0], 2)
        if j0 is None or j1 is None or t1 <= t0:
            return
        hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        other = ((j1[0] - j0[0]) / hz - (own1 - own0)) / (t1 - t0)
        self.fields["host_other_cpus"] = round(max(0.0, other), 3)
        if j1[2] > j0[2]:
            self.fields["cpu_steal"] = round((j1[1] - j0[1]) / (j1[2] - j0[2]), 4)
