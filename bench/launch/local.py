"""Run one job in a fresh process: the one place every command launches work through.

A job (a training run, a profile measurement) is a picklable object with

    outcome_path                     where its worker leaves the record of its try
    process_name                     the worker's name in `ps`
    run()                            in the worker: do the work and leave its record at `outcome_path`
    failure_record(status, error, wall_s, **fields) -> Record   the record of a try that did not finish
    settle(record) -> Record         in the launching process: make the try's record the job's result on disk
    smaller(record)                  after running out of memory: the same job with less memory, or None

`launch` spawns the worker (a clean interpreter: its peak memory is its own, no inherited CUDA state), stops it on
Ctrl-C, and turns a worker that died without a word into a record written by the parent. `launch_with_retries`
retries a job that ran out of memory as long as `job.smaller(record)` offers a smaller one. A `Placement` says where
the worker runs when several run at once: the GPUs it sees, how many runs share the CPUs, where its output goes.
The worker writes everything to the run's log (`Placement.log`) and only short lines to the console
(`bench.train.console`); with `Placement.verbose`, the parent echoes the log to the console as it grows.

The worker ignores the signals that end or checkpoint a scheduled job (SIGINT, SIGTERM, SIGUSR2): they reach the
whole process group, and its parent decides (submitit requeues the run on preemption). The parent stops it with
SIGKILL; a checkpoint cut short by it is never resumed, since only complete checkpoints count.
"""

from __future__ import annotations

import codecs
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bench.cpus import claim_cpus
from bench.host import EXIT_ELSEWHERE, exit_with_parent, is_out_of_memory, last_line
from bench.results.schema import FAILED, OOM, Record
from bench.results.store import read_record, write_record
from bench.train.console import RunOutput, capture

EXIT_FAILED, EXIT_OOM = 1, 3
WORKER_IGNORES = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR2") if hasattr(signal, name)
)  # see the module docstring
STOP = threading.Event()  # set on Ctrl-C while several workers run: the ones still running are stopped, not recorded
_LIVE: set[multiprocessing.process.BaseProcess] = set()


class Job(Protocol):
    @property
    def outcome_path(self) -> Path: ...

    @property
    def process_name(self) -> str: ...

    def run(self) -> None: ...

    def failure_record(self, status: str, error: str, wall_s: float | None, **fields: Any) -> Record: ...

    def settle(self, record: Record) -> Record: ...

    def smaller(self, record: Record) -> Job | None: ...


@dataclass(frozen=True)
class Placement:
    """Where a worker runs.

    Attributes:
        gpus: The GPUs it may use (its CUDA_VISIBLE_DEVICES); None leaves the variable as it is.
        share: How many runs were launched to share this machine's CPUs with it (threads are sized from it).
        log: Where its output goes (the run's log beside its record); None: the console.
        title: How the sweep names the run on the console, e.g. "[run 2/4] tiny-roberta-512 · seed 0".
        verbose: Echo the whole log to the console as it grows (`bench run --verbose`).
    """

    gpus: tuple[str, ...] | None = None
    share: int = 1
    log: Path | None = None
    title: str = ""
    verbose: bool = False

    @property
    def device(self) -> str:
        return f"GPU {','.join(self.gpus)}" if self.gpus else "CPU"


AS_IS = Placement()  # the console, and the GPUs and CPUs as the environment gives them


def _worker(job: Job, placement: Placement = AS_IS) -> None:
    """The worker's entry point: run the job; any exception becomes its `failed` or `oom` record (and, with a log,
    its traceback goes to the log)."""
    # Ctrl-C, and a scheduler's preemption or time-out signals, reach the whole process group; the parent decides
    # what happens to the job (it stops it, and a training run keeps its epoch checkpoints; under submitit the run is
    # requeued), so the worker must neither die of them half-way through a checkpoint nor record itself as failed.
    for sig in WORKER_IGNORES:
        signal.signal(sig, signal.SIG_IGN)
    exit_with_parent()
    output = None
    if placement.log is not None:  # several runs at once share the console: no step bars redrawn in place
        output = RunOutput(placement.log, placement.title, placement.verbose, bars=placement.share == 1)
    if placement.gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(placement.gpus)
    claim_cpus(placement.share)  # before the job imports torch; waits while other bench runs hold the CPUs
    started = time.perf_counter()
    with capture(output):
        try:
            job.run()
        except Exception as err:
            oom = is_out_of_memory(err)
            if not oom or output is not None:  # on the console an OOM says one line; in a log, where it happened
                traceback.print_exc()
            status = OOM if oom else FAILED
            wall_s = time.perf_counter() - started
            fields = getattr(err, "record_fields", {})  # what the protocol knew (the phase that ran out, its batches)
            write_record(job.outcome_path, job.failure_record(status, last_line(err), wall_s, **fields))
            if oom:
                print(f"out of memory: {last_line(err)}", flush=True)
            raise SystemExit(EXIT_OOM if oom else EXIT_FAILED) from None


def run_in_fresh_process(target: Callable[..., None], job: Any, name: str, *args: Any) -> int | None:
    """`target(job, *args)` in a spawned interpreter; its exit code. On Ctrl-C (or `stop_all()` from another thread)
    the child is stopped and the interrupt goes on to the caller."""
    proc = multiprocessing.get_context("spawn").Process(target=target, args=(job, *args), name=name)
    proc.start()
    _LIVE.add(proc)
    if STOP.is_set():  # stop_all() ran between the caller's check and this start
        proc.kill()
    try:
        proc.join()
    except BaseException:  # Ctrl-C, or a scheduler's preemption signal turned into SystemExit (submitit)
        proc.kill()  # the worker ignores SIGTERM (see WORKER_IGNORES)
        proc.join()
        raise
    finally:
        _LIVE.discard(proc)
    if STOP.is_set():
        raise KeyboardInterrupt
    return proc.exitcode


def stop_all() -> None:
    """Stop every worker this process is waiting for (Ctrl-C while several run at once); their runs keep their
    checkpoints and get no record."""
    STOP.set()
    for proc in list(_LIVE):
        proc.kill()


def oom_kills() -> int | None:
    """How many processes the kernel's OOM killer has killed in this memory cgroup (None where it cannot be read)."""
    for path, key in (
        ("/sys/fs/cgroup/memory.events", "oom_kill"),
        ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
    ):
        try:
            for line in Path(path).read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
        except (OSError, ValueError):
            continue
    return None


def died_without_record(exitcode: int | None, kills_before: int | None, kills_after: int | None) -> tuple[str, str]:
    """(status, error) of a worker that exited without writing its record.

    SIGKILL is what the kernel's OOM killer sends, and also what `kill -9` sends. Where the cgroup's OOM-kill
    counter can be read, it decides; where it cannot, SIGKILL counts as running out of memory (the common cause on
    a machine a run has to itself), and the error says what was seen.
    """
    reason = f"worker process exited with code {exitcode} before writing its record"
    if exitcode != -signal.SIGKILL:
        return FAILED, reason
    if kills_before is not None and kills_after is not None:
        if kills_after > kills_before:
            return OOM, reason + " (SIGKILL from the kernel's out-of-memory killer)"
        return FAILED, reason + " (SIGKILL, not from the out-of-memory killer)"
    return OOM, reason + " (SIGKILL, as the kernel's out-of-memory killer sends)"


class _Echo(threading.Thread):
    """Copies what a worker appends to its log onto the console while it runs (`bench run --verbose`)."""

    def __init__(self, path: Path, out=None) -> None:
        super().__init__(name="bench-log-echo", daemon=True)
        self.path, self.out = path, out or sys.stdout
        self.offset = path.stat().st_size if path.exists() else 0
        self.done = threading.Event()
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # a character split between reads

    def run(self) -> None:
        while not self.done.wait(0.2):
            self._copy()

    def _copy(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return
        if chunk:
            self.offset += len(chunk)
            self.out.write(self.decoder.decode(chunk))
            self.out.flush()

    def __enter__(self) -> _Echo:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join()
        self._copy()  # what the worker wrote last


def launch(job: Job, placement: Placement = AS_IS) -> Record | None:
    """One try at `job` in a fresh process; its record, settled on disk by `job.settle` (written by the worker, or
    by this process for a worker that died without one). None where a distributed run's rank 0 ran on another
    machine, whose own launcher settles it. With `placement.verbose`, the worker's log is echoed here as it grows."""
    if STOP.is_set():  # Ctrl-C while several runs train: start nothing more, and keep what is on disk
        raise KeyboardInterrupt
    job.outcome_path.unlink(missing_ok=True)
    started, kills = time.perf_counter(), oom_kills()
    if placement.verbose and placement.log is not None:
        with _Echo(placement.log):
            exitcode = run_in_fresh_process(_worker, job, job.process_name, placement)
    else:
        exitcode = run_in_fresh_process(_worker, job, job.process_name, placement)
    if exitcode == EXIT_ELSEWHERE:
        return None
    record = read_record(job.outcome_path)
    if record is None:  # killed, segfault, out of host memory: the worker could not say so itself
        status, reason = died_without_record(exitcode, kills, oom_kills())
        record = job.failure_record(status, reason, time.perf_counter() - started)
    return job.settle(record)


def launch_with_retries(
    job: Job, on_retry: Callable[[Job, Job, Record], None] = lambda old, new, record: None, placement: Placement = AS_IS
) -> Record | None:
    """`launch(job)`, retried after running out of memory with `job.smaller(record)` while there is one."""
    record = launch(job, placement)
    while record is not None and record.status == OOM and (smaller := job.smaller(record)) is not None:
        on_retry(job, smaller, record)
        job = smaller
        record = launch(job, placement)
    return record
