"""How much bench says: quiet, normal or verbose (`-q`/`-v` on every command), and the progress bars of long steps.

The level lives in the environment (`BENCH_VERBOSITY`), set once by the command line, so that the worker processes a
sweep starts say as much as the command that started them. Progress bars are tqdm's, on stderr: off under `-q`, and
off, as tqdm decides, where stderr is not a terminal (a log file, a pipe, a notebook's captured stream).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any

ENV = "BENCH_VERBOSITY"
QUIET, NORMAL, VERBOSE = "quiet", "normal", "verbose"
LEVELS = (QUIET, NORMAL, VERBOSE)


def set_level(level: str) -> None:
    """Set how much bench says, for this process and the ones it starts; `quiet` silences other libraries' tqdm
    bars too (datasets, transformers, huggingface_hub read TQDM_DISABLE)."""
    if level not in LEVELS:
        raise ValueError(f"verbosity must be one of {', '.join(LEVELS)}, got {level!r}")
    os.environ[ENV] = level
    if level == QUIET:
        os.environ["TQDM_DISABLE"] = "1"


def level() -> str:
    value = os.environ.get(ENV, NORMAL)
    return value if value in LEVELS else NORMAL


def quiet() -> bool:
    return level() == QUIET


def verbose() -> bool:
    return level() == VERBOSE


def bar(iterable: Iterable | None = None, *, desc: str, total: int | None = None, unit: str = "it", **options: Any):
    """A tqdm bar on stderr for a step with a known number of items (documents, runners, sections); it goes away
    when done (`leave=False` unless told otherwise). Off under `-q` and where stderr is not a terminal."""
    from tqdm import tqdm

    options.setdefault("leave", False)
    return tqdm(
        iterable,
        desc=desc,
        total=total,
        unit=unit,
        file=sys.stderr,
        dynamic_ncols=True,
        disable=True if quiet() else None,
        **options,
    )


@contextlib.contextmanager
def activity(desc: str, every_s: float = 1.0) -> Iterator[Any]:
    """A bar for a step whose size is not known in advance (loading a suite's data): its name and the time spent,
    redrawn every `every_s` seconds until the step ends. Yields the tqdm bar (`set_postfix_str` says what it is
    at)."""
    shown = bar(desc=desc, total=None, bar_format="{desc}: {elapsed}{postfix}")
    done = threading.Event()

    def tick() -> None:
        while not done.wait(every_s):
            shown.refresh()

    ticker = threading.Thread(target=tick, daemon=True) if not shown.disable else None
    if ticker is not None:
        ticker.start()
    try:
        yield shown
    finally:
        done.set()
        if ticker is not None:
            ticker.join()
        shown.close()
