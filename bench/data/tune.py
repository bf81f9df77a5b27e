"""A suite's tuning grid (`tune:`): which protocol settings may be tuned, its points, and how a point is chosen."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from bench.config import ProtocolConfig
from bench.errors import BenchError
from bench.results.key import NOT_IN_KEY

# settings a grid may not vary: those that do not change a run's result (the micro-batch and friends), and those
# that define the selection itself (the metric chosen on, the validation split it is measured on): points selected
# on different validation sets or metrics cannot be compared
NOT_TUNABLE = NOT_IN_KEY | {"metric_for_best_model", "validation_fraction", "split_seed"}


def tunable() -> list[str]:
    """The protocol settings a suite's `tune:` may name, sorted."""
    return sorted(f.name for f in dataclasses.fields(ProtocolConfig) if f.name not in NOT_TUNABLE)


def parse_grid(where: str, raw: Any, protocol: ProtocolConfig) -> dict[str, tuple]:
    """A suite's `tune:` mapping (setting -> non-empty list of values) as a grid, each point checked as a protocol.

    Raises:
        BenchError: Not a mapping, an unknown or untunable setting, an empty list, or a value the protocol refuses.
    """
    if raw is None or raw == {}:
        return {}
    allowed = ", ".join(tunable())
    if not isinstance(raw, dict):
        raise BenchError(f"{where}: 'tune' must map protocol settings to lists of values; tunable: {allowed}")
    grid: dict[str, tuple] = {}
    for name, values in raw.items():
        if name not in tunable():
            raise BenchError(f"{where}: tune: {name!r} is not a tunable protocol setting; tunable: {allowed}")
        if not isinstance(values, list | tuple) or not values:
            raise BenchError(
                f"{where}: tune: {name} must be a non-empty list of values, like [1e-5, 2e-5]; tunable: {allowed}"
            )
        if len(set(map(repr, values))) != len(values):
            raise BenchError(f"{where}: tune: {name} lists a value twice: {list(values)}")
        grid[str(name)] = tuple(values)
    for point in points(grid):
        try:
            dataclasses.replace(protocol, **point)
        except BenchError as err:
            raise BenchError(f"{where}: tune point {point}: {err}") from None
    return grid


def points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The grid's points, its Cartesian product in grid order (the first key varies slowest)."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(grid[n] for n in names))]


def validation_score(epochs: Sequence[Mapping[str, Any]] | None, best_epoch: int | None, metric: str) -> float | None:
    """A finished run's validation `metric` at the epoch it kept (what its checkpoint was chosen on); None where
    the record does not have it."""
    for row in epochs or ():
        if row.get("epoch") == best_epoch and isinstance(row.get(f"val_{metric}"), int | float):
            return float(row[f"val_{metric}"])
    return None


def select(scores: Sequence[float | None], metric: str) -> int | None:
    """The index of the best score (the lowest for `loss`, else the highest); a tie goes to the first in grid
    order. None where no score is known."""
    best = None
    for i, score in enumerate(scores):
        if score is None:
            continue
        if best is None or (score < scores[best] if metric == "loss" else score > scores[best]):
            best = i
    return best
