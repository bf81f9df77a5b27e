"""The sweep's progress line: runs done, time spent, and time left estimated from the runs that finished."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bench.train.console import duration


class SweepProgress:
    """Estimates the time left of a sweep from its finished runs' wall times.

    A run still to go is expected to take as long as the finished runs of the same runner (other seeds) took on
    average, or, for a runner with none finished yet, the average finished run of the sweep.
    """

    def __init__(self, runners: Sequence[str]) -> None:
        self.todo = list(runners)  # one entry per run still to go, by runner name
        self.total = len(self.todo)
        self.walls: dict[str, list[float]] = {}
        self.started = time.perf_counter()

    def finished(self, runner: str, wall_s: float) -> None:
        """A run of `runner` ended (whatever its status) after `wall_s` seconds."""
        self.todo.remove(runner)
        self.walls.setdefault(runner, []).append(wall_s)

    def skipped(self, runner: str) -> None:
        self.todo.remove(runner)
        self.total -= 1

    def left_s(self) -> float | None:
        """Expected seconds until the sweep ends; None before any run finished."""
        every = [w for walls in self.walls.values() for w in walls]
        if not every:
            return None
        overall = sum(every) / len(every)
        return sum(sum(self.walls[r]) / len(self.walls[r]) if r in self.walls else overall for r in self.todo)

    def line(self) -> str:
        done = self.total - len(self.todo)
        text = f"sweep: {done}/{self.total} runs done · {duration(time.perf_counter() - self.started)} elapsed"
        if self.todo:
            text += f" · about {duration(self.left_s())} left"
        return text
