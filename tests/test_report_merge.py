"""Records of one suite from several machines: `bench report --results A --results B` renders them together, and a
(runner, seed) present twice is named in the report and on the console, never silently overwritten."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.cli import main
from bench.report.load import load_results
from tests.report_fixtures import make_record, make_test_set, predict, predictions, prf, write_run


def write(results: Path, runner: str, seed: int, host: str, max_length: int = 512) -> None:
    labels, n_tokens = make_test_set()
    preds = predict(labels, n_tokens, max_length, seed + (7 if host == "node-b" else 0))
    record = make_record("sweep", runner, seed, metrics=prf(labels, preds), max_length=max_length, host=host)
    write_run(results, record, predictions(labels, preds, n_tokens))


def test_folders_from_two_machines_merge_and_a_run_in_both_is_named(tmp_path: Path, capsys):
    a, b = tmp_path / "node-a", tmp_path / "node-b"
    write(a, "roberta-512", 0, "node-a")
    write(a, "roberta-512", 1, "node-a")
    write(b, "longformer-512-4096", 0, "node-b", max_length=4096)
    write(b, "roberta-512", 1, "node-b")  # copied twice: the same (runner, seed) on both machines

    results = load_results([a, b], "sweep")
    assert sorted(zip(results.runs["runner"], results.runs["seed"], results.runs["host"], strict=True)) == [
        ("longformer-512-4096", 0, "node-b"),
        ("roberta-512", 0, "node-a"),
        ("roberta-512", 1, "node-a"),  # the first folder's copy, not overwritten by the second
    ]
    (line,) = results.duplicates
    assert "roberta-512 seed 1 is in two results folders" in line and "node-a" in line and "node-b" in line
    first = results.predictions.query("runner == 'roberta-512' and seed == 1")["pred"].to_numpy()
    labels, n_tokens = make_test_set()
    assert np.array_equal(first, predict(labels, n_tokens, 512, 1))  # node-a's predictions, not node-b's

    out = tmp_path / "report"
    code = main(["report", "--suite", "sweep", "--results", str(a), "--results", str(b), "--out", str(out)])
    assert code == 0
    err = capsys.readouterr().err
    assert err.count("bench: warning: roberta-512 seed 1 is in two results folders") == 1
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "roberta-512 seed 1 is in two results folders" in report and "longformer-512-4096" in report
    assert str(a / "sweep" / "runs") in report and str(b / "sweep" / "runs") in report


def test_one_folder_reads_as_before(tmp_path: Path):
    write(tmp_path, "roberta-512", 0, "node-a")
    results = load_results(tmp_path, "sweep")
    assert results.duplicates == [] and list(results.runs["host"]) == ["node-a"]
    assert results.source == str(tmp_path / "sweep" / "runs")


def test_a_plain_bench_report_reports_the_one_suite_with_results(tmp_path: Path, monkeypatch, capsys):
    """`bench run --suite X` then `bench report`: the report is X's (it said "no results for suite 'demo'", seen
    after the eurlex57k-minilm run); with several suites and no demo among them it names them and writes nothing."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "results", "roberta-512", 0, "node-a")
    assert main(["report"]) == 0
    assert (tmp_path / "reports" / "sweep" / "report.md").exists()
    capsys.readouterr()

    other = make_record("other", "roberta-512", 0, metrics=prf(*[make_test_set()[0]] * 2))
    labels, n_tokens = make_test_set()
    write_run(tmp_path / "results", other, predictions(labels, labels, n_tokens))
    assert main(["report", "--out", str(tmp_path / "elsewhere")]) == 2
    err = capsys.readouterr().err
    assert "holds results of several suites (other, sweep); pass --suite" in err and err.count("\n") == 1
    assert not (tmp_path / "elsewhere").exists()
