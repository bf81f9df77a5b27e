"""The results table as printed at the end of `bench run`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.config import SuiteConfig
from bench.runners import BaseRunner

DISPLAY = {
    "runner": "runner",
    "seed": "seed",
    "status": "status",
    "accuracy": "accuracy",
    "f1": "f1",
    "max_length": "max_len",
    "attention_window": "window",
    "train_tokens_per_s": "train tok/s",
    "eval_samples_per_s": "eval samples/s",
    "peak_mem": "peak mem MB",
    "wall_s": "wall s",
}


def format_table(suite: SuiteConfig, results: Path, runners: Sequence[BaseRunner] = ()) -> str:
    """A readable table of the suite's results; synthetic suites add each runner's analytical expectation."""
    import pandas as pd

    table = pd.read_csv(results / suite.name / "results.csv")
    if table.empty:
        return "(no results)"
    gpu = table["peak_gpu_mem_mb"].notna().any()
    table["peak_mem"] = table["peak_gpu_mem_mb"] if gpu else table["peak_cpu_rss_mb"]
    display = dict(DISPLAY, peak_mem="peak GPU MB" if gpu else "peak CPU RSS MB")
    shown = table[list(display)].rename(columns=display)
    if suite.data.source == "synthetic":
        from bench.synthetic import SyntheticSpec, expected_accuracy

        spec = SyntheticSpec(**suite.data.synthetic)
        # rows are matched to runners by (family, max length): the table has no runner parameters, and two runners
        # that share both but keep different amounts of a document (say two chunk sizes) get no expectation at all
        expected: dict[tuple, float | None] = {}
        for r in runners:
            value = expected_accuracy(spec, r.content_tokens) if r.content_tokens is not None else None
            key = (r.family, r.max_length)
            expected[key] = value if expected.get(key, value) == value else None
        keys = pd.Series(list(zip(table["model_family"], table["max_length"], strict=True)), index=table.index)
        shown.insert(4, "expected", keys.map(lambda k: expected.get(k)).astype(float))
    return shown.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="—")
