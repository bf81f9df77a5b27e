"""Scaling exponents: the slope of log(cost) against log(length), fitted per runner. Pure numpy/pandas, shared by
`bench profile` and the report (which imports no torch)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.results.schema import OK

# A record's two fitted costs: the memory its steps add over the built model, and its median seconds per step.
COSTS = {"memory": "step_mem_mb", "time": "s_per_step"}


def fit_exponent(lengths: Sequence[float], values: Sequence[float | None]) -> float | None:
    """Least-squares slope of log(value) on log(length): cost ∝ length^slope. 1 is linear, 2 quadratic.

    Points with a missing or non-positive value are left out; None where fewer than two distinct lengths remain.
    """
    pairs = [
        (float(x), float(y))
        for x, y in zip(lengths, values, strict=True)
        if x is not None and y is not None and not math.isnan(float(y)) and float(x) > 0 and float(y) > 0
    ]
    if len({x for x, _ in pairs}) < 2:
        return None
    x, y = np.log([p[0] for p in pairs]), np.log([p[1] for p in pairs])
    return float(np.polyfit(x, y, 1)[0])


def exponents(rows: Sequence[dict]) -> dict[str, float | None]:
    """{'memory': slope, 'time': slope} over the `ok` records of one series (runner, mode, batch size, device)."""
    ok = [r for r in rows if r.get("status") == OK]
    lengths = [r["seq_len"] for r in ok]
    return {name: fit_exponent(lengths, [r.get(field) for r in ok]) for name, field in COSTS.items()}


def describe(exponent: float | None) -> str:
    """How a slope reads: 'linear', 'quadratic', 'between linear and quadratic', …"""
    if exponent is None:
        return "not enough points"
    if exponent < 0.8:
        return "sub-linear (fixed costs dominate)"
    if exponent <= 1.25:
        return "about linear"
    if exponent < 1.75:
        return "between linear and quadratic"
    return "about quadratic" if exponent <= 2.25 else "faster than quadratic"
