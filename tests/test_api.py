"""The Python API: `bench.run` returns the results table, `bench.load_results` reads every record, `bench.report`
renders the report; user errors raise `BenchError` (a ValueError), never SystemExit; `import bench` stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import bench
from bench.errors import BenchError
from bench.results.schema import RunRecord, field_names
from bench.results.tables import TABLE_COLUMNS
from tests.conftest import TINY_SUITE
from tests.report_fixtures import make_record, write_run


def test_import_bench_loads_no_torch_pandas_or_transformers():
    code = (
        "import sys, bench; names = [bench.run, bench.load_results, bench.report, bench.BenchError]; "
        "print(sorted({'torch', 'pandas', 'transformers'} & set(sys.modules)), callable(bench.report))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "True"]


@pytest.mark.slow
def test_run_returns_the_table_load_results_reads_the_records_report_renders(tmp_path: Path):
    results = tmp_path / "results"
    suite = yaml.safe_load(TINY_SUITE.format(n_train=60, n_test=20, epochs=1))  # a suite as a mapping
    lr = {"protocol.learning_rate": 1e-2}

    table = bench.run(suite, results=results, reports=None, overrides=lr)
    assert list(table.columns) == TABLE_COLUMNS
    assert table[["runner", "seed", "status", "n_epochs"]].values.tolist() == [["tiny-roberta-128", 0, "ok", 1]]
    assert 0 <= table.loc[0, "accuracy"] <= 1
    assert pd.read_csv(results / "tiny" / "results.csv")["accuracy"].tolist() == table["accuracy"].tolist()

    records = bench.load_results(results)
    assert list(records.columns) == list(field_names(RunRecord))  # the tiny runner has no runner facts
    assert records.loc[0, "config"]["suite"]["protocol"]["learning_rate"] == 1e-2
    assert records["accuracy"].tolist() == table["accuracy"].tolist() and records.loc[0, "positive_label"] == "positive"
    assert isinstance(records.loc[0, "epochs"], list)

    again = bench.run(suite, results=results, reports=tmp_path / "reports", overrides=lr)  # finished: skipped
    assert again.loc[0, "wall_s"] == table.loc[0, "wall_s"] and (tmp_path / "reports" / "tiny" / "report.md").exists()
    assert bench.report("tiny", results=results, out=tmp_path / "elsewhere") == tmp_path / "elsewhere" / "report.md"


def test_load_results_reads_every_suite_or_one(tmp_path: Path):
    write_run(tmp_path, make_record("b-suite", "roberta-512", 10))
    write_run(tmp_path, make_record("b-suite", "roberta-512", 2, status="failed", error="boom"))
    write_run(tmp_path, make_record("a-suite", "x", 0, facts={"attention_type": "block_sparse"}))
    every = bench.load_results(tmp_path)
    assert every[["suite", "seed"]].values.tolist() == [["a-suite", 0], ["b-suite", 2], ["b-suite", 10]]
    assert list(every.columns) == [*field_names(RunRecord), "attention_type"]  # runner facts come last
    assert every["seed"].dtype == "Int64" and every["accuracy"].dtype == float
    one = bench.load_results(tmp_path, suite="b-suite")
    assert one["status"].tolist() == ["failed", "ok"] and pd.isna(one.loc[0, "accuracy"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda tmp: bench.run("dmeo", results=tmp), "Unknown suite 'dmeo'. Did you mean 'demo'?"),
        (lambda tmp: bench.run("demo", runners=["nope"], results=tmp), "Unknown runner 'nope'."),
        (lambda tmp: bench.run("demo", overrides={"protocol.epochs": 0}, results=tmp), "epochs must be a positive"),
        (lambda tmp: bench.run("demo", report_to="tensorbord", results=tmp), "unknown tracker 'tensorbord'"),
        (lambda tmp: bench.run("demo", data_dir=tmp / "nowhere", results=tmp), "is not a directory"),
        (lambda tmp: bench.load_results(tmp / "nowhere"), "results folder"),
        (lambda tmp: bench.load_results(tmp, suite="demo"), "no results for suite 'demo'"),
        (lambda tmp: bench.report("demo", results=tmp), "no results for suite 'demo'"),
    ],
)
def test_user_errors_raise_bench_error_not_system_exit(tmp_path: Path, call, message: str):
    with pytest.raises(BenchError, match=message) as err:
        call(tmp_path)
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # nothing written
