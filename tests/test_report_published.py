"""Published results in the report, beside the measured runner of the same family (`bench.report.published`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.config import Reference, to_dict
from bench.report import build_report
from bench.results.store import ResultStore
from tests.report_fixtures import make_record, make_test_set, predictions, prf, write_run

REFERENCES = [
    Reference("roberta", "RoBERTa-base, first 512 tokens", 0.953, "Beltagy et al. (2020), table 7"),
    Reference("roberta", "BERT-base, head", 0.9437, "Sun et al. (2019)", note="BERT, not RoBERTa"),
    Reference("longformer", "Longformer-base", 0.957, "Beltagy et al. (2020), table 7", url="https://arxiv.org/x"),
    Reference("bigbird", "BigBird-base", 0.952, "Zaheer et al. (2020)", std=0.002),
]


def write_suite_results(results: Path, right: dict[str, float], references: list[Reference] | None) -> None:
    """One seed per runner on 400 test documents, right on the first `right[runner]` fraction of them."""
    labels, n_tokens = make_test_set(400)
    for runner, family in (("roberta-512", "roberta"), ("longformer-512-4096", "longformer")):
        preds = np.where(np.arange(400) < right[runner] * 400, labels, 1 - labels)
        record = make_record("lit", runner, 0, family=family, metrics=prf(labels, preds), device="cpu", n_test=400)
        write_run(results, record, predictions(labels, preds, n_tokens))
    if references is not None:
        ResultStore(results).write_references("lit", [to_dict(r) for r in references])


def test_published_results_sit_beside_the_runner_of_their_family(tmp_path: Path):
    write_suite_results(tmp_path / "results", {"roberta-512": 0.95, "longformer-512-4096": 0.80}, REFERENCES)
    report = build_report(tmp_path / "results", "lit", tmp_path / "report")
    table = pd.read_csv(tmp_path / "report" / "tables" / "published.csv")
    rows = {(r.runner if isinstance(r.runner, str) else None, r.model): r for r in table.itertuples()}

    roberta = rows[("roberta-512", "RoBERTa-base, first 512 tokens")]
    assert roberta.accuracy_mean == pytest.approx(0.95) and roberta.n_test == 400
    assert roberta.delta == pytest.approx(0.95 - 0.953) and roberta.verdict == "agrees"  # 0.953 is inside the CI
    assert rows[("roberta-512", "BERT-base, head")].verdict == "agrees"
    longformer = rows[("longformer-512-4096", "Longformer-base")]
    assert longformer.delta == pytest.approx(0.80 - 0.957) and longformer.verdict == "below"
    assert longformer.accuracy_ci_high < 0.957
    bigbird = rows[(None, "BigBird-base")]  # no BigBird runner ran: the literature is listed all the same
    assert bigbird.verdict == "not run" and np.isnan(bigbird.accuracy_mean) and bigbird.published_std == 0.002
    assert len(table) == 4

    text = report.read_text(encoding="utf-8")
    section = text[text.index("### Published results") : text.index("## Cost")]
    assert "Beltagy et al. (2020), table 7" in section and "https://arxiv.org/x" in section
    assert "-15.70 pp" in section and "| below" in section and "0.952 ± 0.002" in section
    assert "BERT, not RoBERTa" in section
    assert "Published results" in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")


def test_no_references_no_section(tmp_path: Path):
    write_suite_results(tmp_path / "results", {"roberta-512": 0.9, "longformer-512-4096": 0.9}, None)
    report = build_report(tmp_path / "results", "lit", tmp_path / "report")
    assert "Published results" not in report.read_text(encoding="utf-8")
    assert pd.read_csv(tmp_path / "report" / "tables" / "published.csv").empty


def test_an_unreadable_references_file_is_named_in_the_report(tmp_path: Path):
    write_suite_results(tmp_path / "results", {"roberta-512": 0.9, "longformer-512-4096": 0.9}, [])
    ResultStore(tmp_path / "results").references_path("lit").write_text("{not json", encoding="utf-8")
    text = build_report(tmp_path / "results", "lit", tmp_path / "report").read_text(encoding="utf-8")
    assert "unreadable published references" in text and "Published results" not in text


def test_a_reference_sits_only_beside_a_runner_that_reads_as_it_did(tmp_path: Path):
    """A 1,024-token Longformer is not the 4,096-token paper figure's runner, and a cost-only @random-init run's
    accuracy is no attempt at any published one: both used to be set beside every reference of their family."""
    labels, n_tokens = make_test_set(400)
    results = tmp_path / "results"
    for runner, length, init in (
        ("longformer-512-1024", 1024, "pretrained"),
        ("longformer-512-4096@random-init", 4096, "random"),
    ):
        preds = np.where(np.arange(400) < 0.9 * 400, labels, 1 - labels)
        record = make_record("lit", runner, 0, family="longformer", max_length=length, attention_window=512,
                             metrics=prf(labels, preds), device="cpu", n_test=400, init=init)  # fmt: skip
        write_run(results, record, predictions(labels, preds, n_tokens))
    references = [
        Reference("longformer", "Longformer-base, 4096", 0.957, "Beltagy et al. (2020)", max_length=4096, attention_window=512),
        Reference("longformer", "tutorial, 1024", 0.9538, "the tutorial", max_length=1024, attention_window=512),
    ]  # fmt: skip
    ResultStore(results).write_references("lit", [to_dict(r) for r in references])
    build_report(results, "lit", tmp_path / "report")
    table = pd.read_csv(tmp_path / "report" / "tables" / "published.csv")
    pairs = {(r.model, r.runner if isinstance(r.runner, str) else None) for r in table.itertuples()}
    assert pairs == {("tutorial, 1024", "longformer-512-1024"), ("Longformer-base, 4096", None)}


def test_the_shipped_imdb_references_state_their_settings():
    from bench.data.suite import published_references

    for entry in published_references()["imdb"]:
        assert entry.get("max_length"), entry["model"]  # else every runner of the family would be compared with it


def test_a_reference_of_another_metric_is_compared_on_that_metric(tmp_path: Path):
    f1_ref = Reference("roberta", "RoBERTa-base, F1 of class 1", source="Someone (2020)", metric="f1", value=0.9)
    labels, n_tokens = make_test_set(400)
    preds = np.ones_like(labels)  # always class 1: F1 of class 1 and accuracy part ways
    record = make_record(
        "lit", "roberta-512", 0, family="roberta", metrics=prf(labels, preds), device="cpu", n_test=400
    )
    write_run(tmp_path / "results", record, predictions(labels, preds, n_tokens))
    ResultStore(tmp_path / "results").write_references("lit", [to_dict(f1_ref)])
    build_report(tmp_path / "results", "lit", tmp_path / "report")
    table = pd.read_csv(tmp_path / "report" / "tables" / "published.csv")
    summary = pd.read_csv(tmp_path / "report" / "tables" / "summary.csv").set_index("runner")
    (row,) = table.itertuples()
    assert row.runner == "roberta-512" and row.metric == "f1" and row.published == pytest.approx(0.9)
    assert row.accuracy_mean == pytest.approx(summary.loc["roberta-512", "f1_mean"])  # F1 set beside F1
    assert row.accuracy_mean != pytest.approx(summary.loc["roberta-512", "accuracy_mean"])
    assert row.accuracy_ci_low == pytest.approx(summary.loc["roberta-512", "f1_ci_low"])


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"metric": "bleu", "value": 0.5}, "'metric' must be one of accuracy, f1"),
        ({"metric": "micro_f1", "accuracy": 0.5}, "give it as 'value'"),
        ({"metric": "micro_f1", "value": 69.6}, r"'value' must be a number in \(0, 1\] \(a fraction: 0.696"),
        ({"accuracy": 0.9, "value": 0.8}, "differ"),
    ],
)
def test_bad_metric_references_say_what_to_fix(keywords: dict, message: str):
    from bench.errors import BenchError

    with pytest.raises(BenchError, match=message):
        Reference("roberta", "m", source="s", **keywords)


def test_an_accuracy_reference_reads_as_its_value():
    ref = Reference("roberta", "m", 0.95, "s")
    assert ref.metric == "accuracy" and ref.value == ref.accuracy == 0.95
    assert Reference("roberta", "m", source="s", value=0.9).accuracy == 0.9


def test_a_metric_the_summary_lacks_comes_from_the_records_with_no_ci():
    from bench.report.published import _measured

    summary = pd.DataFrame({"runner": ["a", "b"], "accuracy_mean": [0.5, 0.6], "accuracy_ci_low": [0.4, 0.5]})
    runs = pd.DataFrame({"runner": ["a", "a", "b"], "micro_f1": [0.60, 0.70, 0.80]})
    got = _measured(summary, runs, "micro_f1").set_index("runner")
    assert got.loc["a", "accuracy_mean"] == pytest.approx(0.65) and got.loc["b", "accuracy_mean"] == pytest.approx(0.8)
    assert got["accuracy_ci_low"].isna().all()  # micro-F1's CIs live in the multi-label section
    assert _measured(summary, runs, "accuracy").equals(summary)
