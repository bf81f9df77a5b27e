"""Runner registry: built-in runners, and third-party ones from the `bench.runners` entry point group."""

from __future__ import annotations

from typing import Any

from bench.runners import bigbird, chunks, hf, tfidf, tiny  # noqa: F401  (registers the built-in runners)
from bench.runners.base import (
    RUNNERS,
    BaseRunner,
    EstimatorRunner,
    Runner,
    RunnerEntry,
    register_runner,
    with_specials,
)

__all__ = [
    "RUNNERS",
    "BaseRunner",
    "EstimatorRunner",
    "Runner",
    "RunnerEntry",
    "build_runner",
    "register_runner",
    "with_specials",
]


def build_runner(name: str, overrides: dict[str, Any] | None = None) -> BaseRunner:
    """The runner registered as `name` (built in or from a plugin), with parameter overrides applied."""
    return RUNNERS.get(name).build(overrides, name=name)
