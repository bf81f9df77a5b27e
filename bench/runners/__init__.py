"""Runners: what differs between models (building model and tokenizer, turning a document into model input), one
small registered class each; built-in ones register on import, third-party ones through entry points."""

from __future__ import annotations

from bench.runners import bigbird, chunks, decoders, hf, minilm, tfidf, tiny  # noqa: F401  (registers the built-in runners)
from bench.runners.base import EstimatorRunner, Runner, TransformerRunner, run_name, with_specials
from bench.runners.registry import RUNNERS, RunnerEntry, build_runner, register_runner

__all__ = [
    "RUNNERS",
    "EstimatorRunner",
    "Runner",
    "RunnerEntry",
    "TransformerRunner",
    "build_runner",
    "register_runner",
    "run_name",
    "with_specials",
]
