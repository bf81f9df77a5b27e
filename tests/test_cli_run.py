"""The table `bench run` prints: each synthetic-suite runner's analytical expectation beside its accuracy."""

from __future__ import annotations

from pathlib import Path

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


RANDOM_INIT_SUITE = """
name: arch
data:
  source: synthetic
  synthetic: {n_train: 24, n_test: 8, min_tokens: 20, max_tokens: 40, cue_length: 4, filler_vocab: 30, seed: 0}
  label_names: [negative, positive]
runners:
  - {runner: roberta-512, max_length: 32}
  - {runner: tiny-roberta-128, hidden_size: 16, num_layers: 1, vocab_size: 200}
protocol: {epochs: 1, learning_rate: 1.0e-4, batch_size: 8, per_device_batch_size: 8, eval_batch_size: 8}
"""


@pytest.mark.slow
def test_random_init_runs_the_real_architecture_offline_as_cost_only(tmp_path: Path, monkeypatch, capsys):
    """`bench run --random-init`: RoBERTa-base's full architecture with random weights and a stand-in tokenizer
    (no hub, an empty Hugging Face cache), recorded apart and shown without an accuracy; tiny runners unchanged."""
    import json

    from bench.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "arch.yaml").write_text(RANDOM_INIT_SUITE, encoding="utf-8")
    assert main(["run", "--suite", "arch.yaml", "--random-init", "--results", "results"]) == 0
    out = capsys.readouterr().out
    record = json.loads(Path("results/arch/runs/roberta-512@random-init/seed0.json").read_text())
    assert record["init"] == "random" and record["runner"] == "roberta-512@random-init"
    assert round(record["n_params"] / 1e6, 1) == 124.6
    assert record["tokenizer"].startswith("trained byte-level BPE, vocabulary 50265")
    tiny = json.loads(Path("results/arch/runs/tiny-roberta-128/seed0.json").read_text())
    assert tiny["init"] == "scratch" and tiny["tokenizer"].startswith("trained BPE (whitespace)")
    row = next(line for line in out.splitlines() if line.strip().startswith("roberta-512@random-init"))
    assert row.split()[3] == "—"  # no accuracy for a model that learned nothing before fine-tuning
    assert "cost only; accuracy not shown" in out
    report = Path("reports/arch/report.md").read_text(encoding="utf-8")
    assert "**Cost only** (left out of this table" in report
