"""Number formatting for the report's tables: one place decides digits, units and how missing values look."""

from __future__ import annotations

import math

import numpy as np

MISSING = "—"  # not measurable or not run; never shown as 0


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def metric(mean: float, std: float) -> str:
    """'0.912 ± 0.004'; without the ± when there is no spread to show (one seed)."""
    if _missing(mean):
        return MISSING
    return f"{mean:.3f}" if _missing(std) else f"{mean:.3f} ± {std:.3f}"


def interval(lo: float, hi: float, digits: int = 3) -> str:
    """'[0.905, 0.918]', or '' when there is no interval."""
    if _missing(lo) or _missing(hi):
        return ""
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def rate(x: float) -> str:
    """Throughput: thousands separators, three significant digits below 100."""
    if _missing(x):
        return MISSING
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def megabytes(x: float) -> str:
    return MISSING if _missing(x) else f"{x:,.0f}"


def watt_hours(joules: float) -> str:
    """Energy given in joules, shown in watt-hours (1 Wh = 3600 J): '1,250', '52.3', '0.412'."""
    return rate(joules / 3600) if not _missing(joules) else MISSING


def watts(x: float) -> str:
    return MISSING if _missing(x) else f"{x:,.0f}"


def duration(seconds: float) -> str:
    """'42.0 s', '5.3 min' or '1.25 h'."""
    if _missing(seconds):
        return MISSING
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def count(n: float) -> str:
    """Parameter counts and the like: '360.3 k', '124.6 M', '1.20 B'."""
    if _missing(n):
        return MISSING
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}" if unit != "B" else f"{n / size:.2f} {unit}"
    return f"{n:.0f}"


def points(delta: float, signed: bool = True) -> str:
    """An accuracy difference in percentage points: '+1.25 pp'."""
    if _missing(delta):
        return MISSING
    return f"{100 * delta:+.2f} pp" if signed else f"{100 * delta:.2f} pp"


def p_value(p: float) -> str:
    if _missing(p):
        return MISSING
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def length(x: float | None) -> str:
    return MISSING if _missing(x) else f"{int(x):,}"


def best_mask(values: list[float], higher: bool = True) -> list[bool]:
    """True where a value equals the column's best (ties all marked); missing values are never best."""
    arr = np.array([math.nan if _missing(v) else float(v) for v in values], dtype=float)
    if np.isnan(arr).all():
        return [False] * len(values)
    best = np.nanmax(arr) if higher else np.nanmin(arr)
    return [bool(v) for v in np.isclose(arr, best, rtol=1e-9, atol=1e-12) & ~np.isnan(arr)]
