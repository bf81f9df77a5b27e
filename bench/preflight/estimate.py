"""The time and memory a suite's protocol would take per run, estimated from `bench profile`'s records (tokens per
second and memory measured at a few lengths) and the padded batches `bench.preflight.lengths` simulates."""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass

import numpy as np

from bench.preflight.lengths import Lengths
from bench.results.schema import OK, ProfileRecord
from bench.runners.base import RANDOM_INIT_SUFFIX

TRAIN, INFER = "train", "infer"


@dataclass(frozen=True)
class Estimate:
    """Seconds per run (one seed) and peak memory, from profile records of one device; `basis` says which."""

    train_s: float
    eval_s: float | None  # None: no infer records to estimate evaluation from
    peak_mem_mb: float | None
    mem_kind: str | None  # gpu | cpu
    mem_at_least: bool  # the longest batch is longer than any length profiled: the peak is a lower bound
    device: str
    basis: str  # e.g. "train b8 at L 512, 1024, 2048 (3 records)"
    extrapolated: bool  # some batches were longer or shorter than every profiled length

    def describe(self) -> str:
        parts = [f"~{_hours(self.train_s)} train"]
        parts.append(
            f"~{_hours(self.eval_s)} eval" if self.eval_s is not None else "eval not estimated (no infer records)"
        )
        if self.peak_mem_mb is not None:
            size = f"{self.peak_mem_mb / 1024:.1f} GB" if self.peak_mem_mb >= 1024 else f"{self.peak_mem_mb:.0f} MB"
            mem = f"{'>= ' if self.mem_at_least else ''}{size} {self.mem_kind or ''}".strip()
            parts.append(f"peak {mem}")
        note = ", extrapolated" if self.extrapolated else ""
        return f"{', '.join(parts)} per seed (estimate from profile records: {self.device}, {self.basis}{note})"


def estimate(lengths: Lengths, records: list[ProfileRecord], epochs: int) -> Estimate | str:
    """The estimate for one runner's protocol, or one line saying why there is none.

    Training: `epochs` passes over the simulated micro-batches, each at the tokens per second profiled at its padded
    length (interpolated in log length between profiled lengths, held at the end values beyond them), scaled from the
    profiled batch by tokens, which is how step time grows once a batch fills the device. Evaluation: each epoch's
    validation pass and one test pass, likewise from `infer` records. Memory: the profiled peak at the shortest
    profiled length at or above the longest micro-batch.
    """
    if lengths.micro_batch is None:
        return "not profiled (a scikit-learn runner: bench profile measures transformer runners)"
    mine = _records_of(lengths.runner, records)
    train = [r for r in mine if r.mode == TRAIN]
    if not train:
        name = lengths.runner.removesuffix(RANDOM_INIT_SUFFIX)
        flag = "--random-init " if lengths.runner.endswith(RANDOM_INIT_SUFFIX) else ""
        return f"no profile records: run `bench profile {flag}--runners {name}`"
    device = Tally(_device(r) for r in train).most_common(1)[0][0]  # one device's records, never a mix
    train = _one_per_length([r for r in train if _device(r) == device], lengths.micro_batch)
    infer = _one_per_length([r for r in mine if r.mode == INFER and _device(r) == device], lengths.micro_batch)
    train_s = epochs * _seconds(train, lengths.batch_lengths, lengths.batch_rows)
    eval_s = None
    if infer:  # validation after every epoch, test once
        eval_s = epochs * _seconds(infer, lengths.val_batch_lengths, lengths.val_batch_rows)
        eval_s += _seconds(infer, lengths.test_batch_lengths, lengths.test_batch_rows)
    longest = max(lengths.batch_lengths, default=0)
    above = [r for r in train if r.seq_len >= longest]
    at = above[0] if above else train[-1]
    mem, kind = _memory(at)
    measured = sorted({r.seq_len for r in train})
    seen = lengths.batch_lengths
    extrapolated = bool(seen) and (max(seen) > measured[-1] or min(seen) < measured[0])
    batches = sorted({r.batch_size for r in train})
    basis = (
        f"train batch {'/'.join(map(str, batches))} at L {', '.join(map(str, measured))}"
        + (f", infer at L {', '.join(str(r.seq_len) for r in infer)}" if infer else "")
        + f"; memory at L {at.seq_len}, batch {at.batch_size}"
    )
    if batches != [lengths.micro_batch]:  # memory grows with the batch; the time per token less so, once it fills
        basis += f"; the suite's micro-batch is {lengths.micro_batch}: profile at it for a closer memory figure"
    return Estimate(train_s, eval_s, mem, kind, not above, device, basis, extrapolated)


def _records_of(runner: str, records: list[ProfileRecord]) -> list[ProfileRecord]:
    """The ok records of `runner`; a random-init runner's cost is the checkpoint's and the other way round, so the
    other name's records stand in where the runner's own name has none."""
    ok = [r for r in records if r.status == OK and r.tokens_per_s]
    own = [r for r in ok if r.runner == runner]
    if own:
        return own
    twin = (
        runner.removesuffix(RANDOM_INIT_SUFFIX) if runner.endswith(RANDOM_INIT_SUFFIX) else runner + RANDOM_INIT_SUFFIX
    )
    return [r for r in ok if r.runner == twin]


def _one_per_length(records: list[ProfileRecord], batch: int) -> list[ProfileRecord]:
    """One record per profiled length, sorted by length: the one whose batch is nearest `batch` (then the latest)."""
    best: dict[int, ProfileRecord] = {}
    for r in records:
        old = best.get(r.seq_len)
        if old is None or abs(r.batch_size - batch) <= abs(old.batch_size - batch):
            best[r.seq_len] = r
    return [best[k] for k in sorted(best)]


def _device(record: ProfileRecord) -> str:
    return record.gpu_name or record.device or "unknown device"


def _seconds(records: list[ProfileRecord], lengths: tuple[int, ...], rows: tuple[int, ...]) -> float:
    """Seconds for batches of `rows` documents padded to `lengths`, at the tokens per second profiled there."""
    if not lengths:
        return 0.0
    padded = np.asarray(lengths, dtype=float)
    measured = np.log([r.seq_len for r in records])
    speed = np.interp(np.log(np.maximum(padded, 1)), measured, [float(r.tokens_per_s) for r in records])
    return float((np.asarray(rows, dtype=float) * padded / speed).sum())


def _memory(record: ProfileRecord) -> tuple[float | None, str | None]:
    if record.peak_gpu_mem_mb is not None:
        return float(record.peak_gpu_mem_mb), "GPU"
    if record.step_mem_mb is not None:
        return float(record.step_mem_mb), (record.step_mem_kind or "").upper() or None
    if record.peak_cpu_rss_mb is not None:
        return float(record.peak_cpu_rss_mb), "CPU RSS"
    return None, None


def _hours(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
