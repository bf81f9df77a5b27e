"""The built-in long-document suites: they parse, `bench list` shows them, the single-label ones load a generated
sample of their real data's shape through the real loader (--data-dir), and their references match one setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.cli.listing import facts, summary
from bench.data.load import load_suite_data
from bench.data.suite import load_suite
from bench.report.published import reads_as
from tests import longdoc_samples

LONGDOC = ["hyperpartisan", "20news", "20news-minilm", "eurlex57k", "eurlex57k-inverted", "eurlex57k-minilm",
           "booksummaries", "ecthr-a"]  # fmt: skip
KINDS = {"hyperpartisan": "binary", "20news": "multi-class", "20news-minilm": "multi-class", "eurlex57k": "multi-label",
         "eurlex57k-inverted": "multi-label", "eurlex57k-minilm": "multi-label", "booksummaries": "multi-label",
         "ecthr-a": "multi-label"}  # fmt: skip
HEX40 = set("0123456789abcdef")


@pytest.mark.parametrize("name", LONGDOC)
def test_suite_parses_with_a_pinned_revision_or_none_at_all(name: str):
    suite = load_suite(name)
    text = " ".join(suite.description.split()).lower()
    assert suite.name == name and suite.runners and "task: " in text
    if suite.data.revision is not None:  # a pin is a full commit sha, never a branch or a short one
        assert len(suite.data.revision) == 40 and set(suite.data.revision) <= HEX40
    else:  # nothing pinned: the description says so
        assert any(words in text for words in ("not pinned", "nothing is pinned", "no revision is pinned"))


def test_bench_list_shows_each_suite_with_its_task_kind():
    out = subprocess.run([sys.executable, "-m", "bench", "list"], capture_output=True, text=True, check=True).stdout
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and line.split()}
    for name, kind in KINDS.items():
        assert name in lines, out
        assert f" {kind}, " in lines[name]
        first = summary(load_suite(name).description, 64)
        assert first in lines[name] and not first.endswith(("et al.", "(Chalkidis et"))  # never cut inside a citation


def test_facts_reads_the_task_and_length_sentences():
    text = "Some set. Task: binary classification, F1. Lengths: mean 745 tokens, p95 2,003, 53.2% over 512. Rest."
    assert facts(text, "single_label") == "binary, mean 745 tokens, p95 2,003, 53.2% over 512"
    measured = "Task: binary. Lengths (MiniLM tokens, train): median 231, p95 804, 14.8% over 510. More."
    assert facts(measured, "single_label") == "binary, median 231, p95 804, 14.8% over 510"
    assert facts("No such sentences.", "multilabel") == "multi-label, lengths: bench inspect"
    assert facts("No such sentences.", "single_label") == "single-label, lengths: bench inspect"


def test_hyperpartisan_loads_the_longformer_split_and_ignores_dev(tmp_path: Path):
    folder = longdoc_samples.hyperpartisan(tmp_path / "hp", n_train=40, n_dev=6, n_test=10)
    data = load_suite_data(load_suite("hyperpartisan"), data_dir=folder)
    assert len(data.splits["train"]) + len(data.splits["validation"]) == 40  # bench carves validation from train
    assert len(data.splits["test"]) == 10
    assert data.label_names == ("false", "true") and data.positive_label == "true"
    assert set(data.splits["train"].column_names) == {"id", "text", "label"}


def test_20news_loads_twenty_named_topics(tmp_path: Path):
    folder = longdoc_samples.newsgroups(tmp_path / "20news", per_class_train=10, per_class_test=2)
    data = load_suite_data(load_suite("20news"), data_dir=folder)
    assert data.label_names == tuple(longdoc_samples.NEWSGROUPS) and data.positive_label is None
    assert len(data.splits["train"]) + len(data.splits["validation"]) == 200 and len(data.splits["test"]) == 40
    # stratified: every topic is in the validation split
    assert len(set(data.splits["validation"]["label"])) == 20


def test_references_of_ecthr_a_match_only_their_setting():
    refs = {(r.family, r.metric): r for r in load_suite("ecthr-a").references}
    longformer = refs[("longformer", "micro_f1")].__dict__
    runner = {"model_family": "longformer", "max_length": 4096, "attention_window": 512, "truncation": "head"}
    assert reads_as(longformer, pd.Series(runner))
    assert not reads_as(longformer, pd.Series({**runner, "max_length": 1024}))  # a shorter reading: not the same
    assert not reads_as(longformer, pd.Series({**runner, "cost_only": True}))
    hierarchical = refs[("roberta-hierarchical", "micro_f1")].__dict__
    for family in ("roberta", "roberta-chunks-mean", "roberta-chunks-max"):
        assert not reads_as(hierarchical, pd.Series({"model_family": family, "max_length": 4096}))
    assert refs[("bigbird", "macro_f1")].value == pytest.approx(0.638)


def test_hyperpartisan_compares_f1_with_the_longformer_papers_settings():
    refs = {(r.family, r.max_length): r for r in load_suite("hyperpartisan").references}
    assert set(refs) == {("roberta", 512), ("longformer", 4096)}
    assert refs["roberta", 512].metric == "f1" and refs["roberta", 512].value == 0.874
    assert refs["longformer", 4096].attention_window == 512 and refs["longformer", 4096].value == 0.948
