"""Run one job in a fresh process: the one place every command launches work through.

A job (a training run, a profile measurement) is a picklable object with

    record_path                      where its record goes
    process_name                     the worker's name in `ps`
    run()                            in the worker: do the work and write the record (written last)
    failure_record(status, error, wall_s) -> Record   the record of a job that did not finish
    smaller()                        after running out of memory: the same job with less memory, or None

`launch` spawns the worker (a clean interpreter: its peak memory is its own, no inherited CUDA state), stops it on
Ctrl-C, and turns a worker that died without a word into a record written by the parent. `launch_with_retries`
retries a job that ran out of memory as long as `job.smaller()` offers a smaller one. A `Placement` says where the
worker runs when several run at once: the GPUs it sees, how many runs share the CPUs, where its output goes.
The worker writes everything to the run's log (`Placement.log`) and only short lines to the console
(`bench.train.console`); with `Placement.verbose`, the parent echoes the log to the console as it grows.
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

from bench.host import EXIT_ELSEWHERE, claim_cpus, exit_with_parent, is_out_of_memory, last_line
from bench.results.store import read_record, write_record
from bench.train.console import RunOutput, capture

EXIT_FAILED, EXIT_OOM = 1, 3
STOP = threading.Event()  # set on Ctrl-C while several workers run: the ones still running are stopped, not recorded
_LIVE: set[multiprocessing.process.BaseProcess] = set()


class Job(Protocol):
    record_path: Path

    @property
    def process_name(self) -> str: ...

    def run(self) -> None: ...

    def failure_record(self, status: str, error: str, wall_s: float | None) -> Any: ...

    def smaller(self) -> Job | None: ...


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
    # Ctrl-C reaches the whole process group; the parent decides what happens to the job (it stops it; a training
    # run keeps its epoch checkpoints), so the worker must not die half-way through writing a checkpoint.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    output = None
    if placement.log is not None:  # several runs at once share the console: no step bars redrawn in place
        output = RunOutput(placement.log, placement.title, placement.verbose, bars=placement.share == 1)
    if placement.gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(placement.gpus)
    claim_cpus(placement.share)  # before the job imports torch
    started = time.perf_counter()
    with capture(output):
        try:
            job.run()
        except Exception as err:
            oom = is_out_of_memory(err)
            if not oom or output is not None:  # on the console an OOM says one line; in a log, where it happened
                traceback.print_exc()
            record = job.failure_record("oom" if oom else "failed", last_line(err), time.perf_counter() - started)
            write_record(job.record_path, record)
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
        proc.terminate()
    try:
        proc.join()
    except BaseException:  # Ctrl-C, or a scheduler's preemption signal turned into SystemExit (submitit)
        proc.terminate()
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
        proc.terminate()


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
        return "failed", reason
    if kills_before is not None and kills_after is not None:
        if kills_after > kills_before:
            return "oom", reason + " (SIGKILL from the kernel's out-of-memory killer)"
        return "failed", reason + " (SIGKILL, not from the out-of-memory killer)"
    return "oom", reason + " (SIGKILL, as the kernel's out-of-memory killer sends)"


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


def launch(job: Job, placement: Placement = AS_IS) -> dict[str, Any]:
    """One try at `job` in a fresh process; its record (written by the worker, or by this process for it). With
    `placement.verbose`, the worker's log is echoed here as it grows."""
    if STOP.is_set():  # Ctrl-C while several runs train: start nothing more, and keep what is on disk
        raise KeyboardInterrupt
    job.record_path.unlink(missing_ok=True)
    started, kills = time.perf_counter(), oom_kills()
    if placement.verbose and placement.log is not None:
        with _Echo(placement.log):
            exitcode = run_in_fresh_process(_worker, job, job.process_name, placement)
    else:
        exitcode = run_in_fresh_process(_worker, job, job.process_name, placement)
    if exitcode == EXIT_ELSEWHERE:  # a distributed run whose rank 0 ran on another machine, which writes the record
        return {"status": "elsewhere", "error": "rank 0 ran on another machine, which writes the record"}
    record = read_record(job.record_path)
    if record is None:  # killed, segfault, out of host memory: the worker could not say so itself
        status, reason = died_without_record(exitcode, kills, oom_kills())
        write_record(job.record_path, job.failure_record(status, reason, time.perf_counter() - started))
        record = read_record(job.record_path)
    return record


def launch_with_retries(
    job: Job, on_retry: Callable[[Job, Job], None] = lambda old, new: None, placement: Placement = AS_IS
) -> dict[str, Any]:
    """`launch(job)`, retried after running out of memory with `job.smaller()` while there is one."""
    record = launch(job, placement)
    while record["status"] == "oom" and (smaller := job.smaller()) is not None:
        on_retry(job, smaller)
        job = smaller
        record = launch(job, placement)
    return record
