"""bench: is a long-context classifier worth its cost on your documents?

The Python API, `bench.run`, `bench.load_results`, `bench.report`, `bench.leaderboard` (see `bench.api`) and
`bench.publish`, is imported on first use,
so that `import bench` and `bench --help` stay light: no torch, transformers or pandas until a function is called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError
from bench.version import DISTRIBUTION, __version__

__all__ = [
    "DISTRIBUTION",
    "BenchError",
    "__version__",
    "inspect",
    "leaderboard",
    "load_results",
    "publish",
    "report",
    "run",
]

if TYPE_CHECKING:
    from bench import publish, report
    from bench.api import inspect, leaderboard, load_results, run


def __getattr__(name: str) -> Any:
    if name in ("run", "load_results", "inspect", "leaderboard"):
        return getattr(importlib.import_module("bench.api"), name)
    if name in ("report", "publish"):  # callable packages: bench.report("demo") renders a report
        return importlib.import_module(f"bench.{name}")
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
