"""The table `bench run` prints: each synthetic-suite runner's analytical expectation beside its accuracy."""

from __future__ import annotations

import pytest

from bench.cli.run import format_table
from bench.data.suite import load_suite
from bench.data.synthetic import SyntheticSpec, expected_accuracy
from bench.results.store import run_table
from bench.runners import build_runner

RUNNERS = {
    "tiny-roberta-512": "tiny-roberta",
    "tiny-roberta-headtail-512": "tiny-roberta-headtail",
    "tiny-roberta-chunks-2048": "tiny-roberta-chunks-mean",
    "tiny-longformer-2048": "tiny-longformer",
    "tfidf-logreg": "tfidf-logreg",
}


def test_expected_column_comes_from_what_each_runner_reads():
    suite = load_suite("demo")
    runners = {name: build_runner(name) for name in RUNNERS}
    rows = [
        {"runner": name, "seed": 0, "status": "ok", "accuracy": 0.7, "model_family": family,
         "max_length": runners[name].max_length, "peak_cpu_rss_mb": 100.0}
        for name, family in RUNNERS.items()
    ]  # fmt: skip
    table = format_table(suite, run_table(rows), list(runners.values()))
    lines = {line.split()[0]: line.split() for line in table.splitlines()[1:]}
    head = expected_accuracy(SyntheticSpec(**suite.data.synthetic), 510)
    assert float(lines["tiny-roberta-512"][4]) == pytest.approx(head, abs=1e-4)
    # head+tail with the same budget expects exactly what head truncation does (see bench/synthetic.py)
    assert lines["tiny-roberta-headtail-512"][4] == lines["tiny-roberta-512"][4]
    assert lines["tiny-roberta-chunks-2048"][4] == "1" and lines["tiny-longformer-2048"][4] == "1"
    assert lines["tfidf-logreg"][4] == "—"  # no closed form for a bag of words


def test_runners_that_share_family_and_length_but_read_differently_get_no_expectation():
    suite = load_suite("demo")
    a = build_runner("tiny-roberta-chunks-2048", {"max_length": 1024})
    b = build_runner("tiny-roberta-chunks-2048", {"max_length": 1024, "chunk_length": 128})
    rows = [{"runner": n, "seed": 0, "status": "ok", "accuracy": 0.7, "model_family": "tiny-roberta-chunks-mean",
             "max_length": 1024, "peak_cpu_rss_mb": 1.0} for n in ("a", "b")]  # fmt: skip
    lines = format_table(suite, run_table(rows), [a, b]).splitlines()[1:]
    assert [line.split()[4] for line in lines] == ["—", "—"]
