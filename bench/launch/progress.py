"""The sweep's progress line: runs done, time spent, and the time left, estimated per runner from that runner's own
runs, and marked as a guess where a runner has none yet."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from bench.results.key import differences
from bench.train.console import duration

if TYPE_CHECKING:
    from bench.train.job import Job


class SweepProgress:
    """Estimates the time left of a sweep, one runner at a time.

    A run still to go is expected to take as long as its own runner's runs took: those finished in this sweep
    (other seeds), else `earlier` ones (finished records of that runner with the same configuration, from an earlier
    sweep). A runner with neither is *not yet timed*: its runs are guessed from the timed runners (the median),
    scaled by how many tokens each reads (`lengths`: a runner reading 4096 tokens is guessed to cost 8 times one reading 512,
    which is the right order for chunked and sparse attention and low for full attention), and the line says how
    many runners that guess covers. A model is never guessed from runners of no length only (TF-IDF's minute says
    nothing of a fine-tuning's hour): the time left stays unknown until a model is timed. With `slots` runs at
    once, the work left is shared among them.
    """

    def __init__(
        self,
        runners: Sequence[str],
        earlier: Mapping[str, Sequence[float]] | None = None,
        lengths: Mapping[str, int | None] | None = None,
        slots: int = 1,
    ) -> None:
        self.todo = list(runners)  # one entry per run still to go, by runner name
        self.total = len(self.todo)
        self.walls: dict[str, list[float]] = {}
        self.earlier = {name: list(walls) for name, walls in (earlier or {}).items() if walls}
        self.lengths = dict(lengths or {})
        self.slots = max(1, slots)
        self.started = time.perf_counter()

    @classmethod
    def of(cls, jobs: Iterable[Job], slots: int = 1) -> SweepProgress:
        """The progress of running `jobs`, with each runner's earlier finished runs of the same configuration read
        from the results store (any seed), so that a resumed or extended sweep knows its costs from the start."""
        jobs = list(jobs)
        earlier: dict[str, list[float]] = {}
        seen: set[tuple[str, str]] = set()
        for job in jobs:
            if (job.suite.name, job.runner_name) in seen:
                continue
            seen.add((job.suite.name, job.runner_name))
            for record in job.store.records(job.suite.name):
                same = record.runner == job.runner_name and record.ok and record.wall_s
                if same and not differences(record.config_key, job.key):
                    earlier.setdefault(job.runner_name, []).append(float(record.wall_s))
        lengths = {job.runner_name: getattr(job.runner, "max_length", None) for job in jobs}
        return cls([job.runner_name for job in jobs], earlier, lengths, slots)

    def finished(self, runner: str, wall_s: float) -> None:
        """A run of `runner` ended (whatever its status) after `wall_s` seconds."""
        self.todo.remove(runner)
        self.walls.setdefault(runner, []).append(wall_s)

    def skipped(self, runner: str) -> None:
        self.todo.remove(runner)
        self.total -= 1

    def cost_s(self, runner: str) -> float | None:
        """Expected seconds of one run of `runner` from its own runs (this sweep's, else earlier ones); None where
        it has none."""
        walls = self.walls.get(runner) or self.earlier.get(runner)
        return statistics.fmean(walls) if walls else None

    def guess_s(self, runner: str) -> float | None:
        """One run of a runner not yet timed, from the timed runners (scaled by tokens read where both lengths are
        known); None where no runner is timed."""
        timed = {name: cost for name in {*self.walls, *self.earlier} if (cost := self.cost_s(name)) is not None}
        if not timed:
            return None
        length = self.lengths.get(runner)
        scaled = [
            cost * length / self.lengths[name] for name, cost in timed.items() if length and self.lengths.get(name)
        ]
        if length and not scaled:  # only runners of no length (TF-IDF) timed: their seconds say nothing of a model's
            return None
        return statistics.median(scaled or timed.values())

    def left(self) -> tuple[float | None, int]:
        """Expected seconds until the sweep ends (None where nothing is timed yet), and how many runners still to
        run are guessed rather than timed."""
        total, guessed = 0.0, set()
        for runner in self.todo:
            cost = self.cost_s(runner)
            if cost is None:
                cost = self.guess_s(runner)
                guessed.add(runner)
            if cost is None:
                return None, len(set(self.todo) - set(self.walls) - set(self.earlier))
            total += cost
        return total / min(self.slots, max(1, len(self.todo))), len(guessed)

    def left_s(self) -> float | None:
        """Expected seconds until the sweep ends; None while no runner is timed."""
        return self.left()[0]

    def line(self) -> str:
        done = self.total - len(self.todo)
        text = f"sweep: {done}/{self.total} runs done · {duration(time.perf_counter() - self.started)} elapsed"
        if self.todo:
            seconds, guessed = self.left()
            if seconds is None:
                timed = {*self.walls, *self.earlier}
                text += " · time left unknown until a " + ("model is timed" if timed else "run finishes")
            else:
                text += f" · about {duration(seconds)} left"
                if guessed:
                    text += f" (guess: {guessed} runner{'s' if guessed > 1 else ''} not yet timed)"
        return text
