"""What a person sees while a run trains: a few short lines on the console (the run's start, one line per epoch,
notes such as resuming), while everything else the process writes (the Trainer's logs, warnings, tracebacks, C
libraries' messages) goes to the run's log file beside its record.

A worker process calls `capture(log)` once: file descriptors 1 and 2 then point at the log, so nothing written by any
library reaches the console by accident, and `say()` writes to the console the process started with. Outside a worker
(a test training in-process) nothing is redirected and `say()` prints to stdout.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bench.output import quiet


@dataclass(frozen=True)
class RunOutput:
    """Where a worker's output goes, handed to it by the sweep (picklable).

    Attributes:
        log: The run's log file; appended to, so a resumed or retried run keeps its earlier attempts.
        title: How the sweep names the run on the console, e.g. "[run 2/4] tiny-roberta-512 · seed 0".
        verbose: The sweep echoes the whole log to the console, so `say()` writes to the log only (no doubles).
        bars: Whether a step bar may be redrawn in place (not while several runs share the console).
    """

    log: Path
    title: str = ""
    verbose: bool = False
    bars: bool = True


class _State:
    console: TextIO | None = None  # the console while captured; None: not captured, stdout is the console
    output: RunOutput | None = None


def title() -> str:
    """The sweep's name for the run in this worker ('' outside a sweep)."""
    return _State.output.title if _State.output else ""


def live() -> bool:
    """Whether lines may be redrawn in place (progress bars): the console is a terminal and is not echoing a log."""
    if (_State.output is not None and (_State.output.verbose or not _State.output.bars)) or quiet():
        return False
    stream = _State.console or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def say(line: str) -> None:
    """A line for the person at the console; in a captured worker it goes to the log too."""
    if _State.console is None:
        print(line, flush=True)
        return
    print(line, file=sys.stdout, flush=True)  # the log
    if (not _State.output or not _State.output.verbose) and not quiet():  # `-q`: the log only
        print(line, file=_State.console, flush=True)


def redraw(line: str) -> None:
    """Replace the console's current line with `line` (a progress bar); only where `live()`."""
    stream = _State.console or sys.stdout
    stream.write("\r\033[K" + line)
    stream.flush()


def clear_line() -> None:
    if live():
        redraw("")


@contextlib.contextmanager
def capture(output: RunOutput | None) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so C code and child processes too) to
    `output.log` for the duration; `say()` still reaches the console. None: change nothing."""
    if output is None:
        yield
        return
    _no_progress_bars()
    output.log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    log_fd = os.open(output.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    _State.console = open(saved_out, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    _State.output = output
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"==== {stamp} · pid {os.getpid()} · {output.title or output.log.stem} ====", flush=True)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr, _State.console):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        _State.console, _State.output = None, None


def _no_progress_bars() -> None:
    """Progress bars drawn into a file are a wall of carriage returns; the console gets its own (EpochProgress)."""
    for name in ("TQDM_DISABLE", "HF_DATASETS_DISABLE_PROGRESS_BARS", "HF_HUB_DISABLE_PROGRESS_BARS"):
        os.environ[name] = "1"  # libraries imported from now on
    # and those imported already (a worker forked from a server that preloaded them)
    if "datasets" in sys.modules:
        sys.modules["datasets"].disable_progress_bars()
    if "transformers" in sys.modules:
        sys.modules["transformers"].utils.logging.disable_progress_bar()
    if "huggingface_hub" in sys.modules:
        sys.modules["huggingface_hub"].utils.disable_progress_bars()


def duration(seconds: float | None) -> str:
    """Seconds as '42 s', '3:07' or '1:02:03'; '?' when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
