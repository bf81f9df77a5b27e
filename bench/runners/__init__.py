"""Runner registry: built-in runners, and third-party ones from the `bench.runners` entry point group."""

from __future__ import annotations

from typing import Any

from bench.runners import hf, tiny  # noqa: F401  (registers the built-in runners)
from bench.runners.base import RUNNERS, Runner, RunnerEntry, register_runner

__all__ = ["RUNNERS", "Runner", "RunnerEntry", "build_runner", "register_runner"]


def build_runner(name: str, overrides: dict[str, Any] | None = None) -> Runner:
    """The runner registered as `name`, with parameter overrides applied."""
    return RUNNERS.get(name).build(overrides, name=name)
