"""Output for scripts and notebooks: `--format json` with stable keys on list, status, inspect and leaderboard;
`-q`/`-v` on every command; `bench leaderboard` prints its table; `bench --version`; `bench.report()` returns a
`Report`; the API's options are spelled out in its signatures; progress bars on a terminal only."""

from __future__ import annotations

import inspect as pyinspect
import io
import json
import os
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bench
from bench import api, output
from bench.cli import main
from bench.launch.options import RunOptions
from bench.profile.plan import ProfileOptions
from bench.report import Report, ReportError
from tests.conftest import TINY_SUITE, write_suite
from tests.report_fixtures import make_record, predictions, prf, write_run

LABELS = np.array([0, 1] * 50)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # reports/ and results/ stay in the sandbox


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """Two suites of two runners, one seed each: a 0.9 / b 0.8 on alpha, a 0.7 / b 0.75 on beta."""
    folder = tmp_path / "results"
    for suite, runner, wrong in (("alpha", "a", 10), ("alpha", "b", 20), ("beta", "a", 30), ("beta", "b", 25)):
        preds = np.where(np.arange(100) < wrong, 1 - LABELS, LABELS)
        record = make_record(suite, runner, 0, metrics=prf(LABELS, preds), train_s=600.0, n_train_split=1000)
        write_run(folder, record, predictions(LABELS, preds, np.full(100, 300)))
    return folder


def call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = call(capsys, *argv)
    assert code in (0, 1), err
    return json.loads(out)  # the whole of stdout is one strict JSON document


def test_version(capsys: pytest.CaptureFixture[str]):
    import tomllib

    project = tomllib.loads((Path(bench.__file__).parent.parent / "pyproject.toml").read_text())["project"]
    assert project["name"] == bench.DISTRIBUTION != "bench"  # "bench" on PyPI is an unrelated project
    assert bench.__version__ == project["version"]
    code, out, _ = call(capsys, "--version")
    assert code == 0 and out == f"bench {project['version']}\n"


def test_list_json_has_stable_keys(capsys: pytest.CaptureFixture[str]):
    document = as_json(capsys, "list", "--format", "json")
    assert set(document) == {"suites", "runners", "problems"}
    demo = next(s for s in document["suites"] if s["name"] == "demo")
    assert set(demo) == {"name", "origin", "task", "facts", "summary", "description", "error"}
    assert demo["task"] == "single_label" and demo["error"] is None
    runner = next(r for r in document["runners"] if r["name"] == "tiny-roberta-512")
    assert set(runner) == {"name", "source", "family", "description", "error"}
    assert runner["family"] == "tiny-roberta"

    one = as_json(capsys, "list", "--suite", "demo", "--json")
    assert set(one) == {
        "name",
        "description",
        "task",
        "data",
        "seeds",
        "report_to",
        "protocol",
        "tune",
        "tune_points",
        "runners",
        "references",
    }
    assert one["protocol"]["epochs"] == 2 and one["runners"][0]["name"] == "tiny-roberta-512"


def test_status_json(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    suite = write_suite(tmp_path / "tiny.yaml", TINY_SUITE.format(n_train=60, n_test=20, epochs=1))
    document = as_json(capsys, "status", "--suite", str(suite), "--seeds", "0,1", "--results", "r", "--json")
    assert set(document) == {"suite", "results", "runs", "counts", "complete"}
    assert document["counts"] == {"pending": 2} and document["complete"] is False
    assert [set(run) for run in document["runs"]] == [{"runner", "seed", "state", "detail", "host", "job"}] * 2
    assert [run["seed"] for run in document["runs"]] == [0, 1]


def test_inspect_json(capsys: pytest.CaptureFixture[str]):
    document = as_json(capsys, "inspect", "--format", "json", "--runners", "tiny-roberta-512")
    assert set(document) == {"suite", "splits", "epochs", "seconds", "runners"}
    (row,) = document["runners"]
    assert row["runner"] == "tiny-roberta-512" and row["docs"] == 400 and row["truncated %"] > 0


def test_leaderboard_prints_its_table_and_json_rows(capsys: pytest.CaptureFixture[str], results: Path):
    code, out, _ = call(capsys, "leaderboard", "--results", str(results))
    assert code == 0
    header, first, second = out.splitlines()[:3]
    assert "alpha.accuracy" in header and "beta.accuracy" in header and "mean rank" in header
    assert first.split()[:2] == ["a", "0.900"] and second.split()[:2] == ["b", "0.800"]
    assert "leaderboard: reports/leaderboard.md" in out

    document = as_json(capsys, "leaderboard", "--results", str(results), "--json")
    assert set(document) == {"files", "suites", "rows"}
    assert document["suites"] == [
        {"suite": "alpha", "metric": "accuracy", "column": "alpha.accuracy"},
        {"suite": "beta", "metric": "accuracy", "column": "beta.accuracy"},
    ]
    csv = pd.read_csv(document["files"]["csv"])
    assert [list(row) for row in document["rows"]] == [list(csv.columns)] * 2  # the CSV's columns, as keys
    a = document["rows"][0]
    assert a["runner"] == "a" and a["alpha.accuracy"] == pytest.approx(0.9)
    assert a["mean_rank"] == 1.0  # first on alpha; on beta 0.70 vs 0.75 is not separated on 100 documents: tied first


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["leaderboard", "--results", "results"], "leaderboard: reports/leaderboard.md"),
        (["report", "--suite", "alpha", "--results", "results"], "report: reports/alpha/report.md"),
        (["status", "--suite", "demo", "--results", "results"], "4 pending"),  # the demo's four runners
    ],
)
def test_quiet_prints_only_the_essential_line(capsys: pytest.CaptureFixture[str], results: Path, argv, line):
    for where in ("after", "before"):  # `bench CMD -q` and `bench -q CMD`
        code, out, err = call(capsys, *(["-q", *argv] if where == "before" else [*argv, "-q"]))
        assert code in (0, 1), err
        assert out == line + "\n" and err == ""
    assert os.environ.get(output.ENV) is None  # the verbosity does not outlive the command


def test_quiet_list_is_one_name_a_line(capsys: pytest.CaptureFixture[str]):
    code, out, _ = call(capsys, "list", "-q")
    lines = out.splitlines()
    assert code == 0 and "suite demo" in lines and "runner tiny-roberta-512" in lines
    assert all(len(line.split()) == 2 and line.split()[0] in ("suite", "runner") for line in lines)


def test_every_command_takes_q_and_v(capsys: pytest.CaptureFixture[str]):
    from bench.cli import COMMANDS

    for command in COMMANDS:
        code, out, _ = call(capsys, command, "--help")
        assert code == 0 and "-q, --quiet" in out and "-v, --verbose" in out, command


def test_report_object(results: Path):
    report = bench.report("alpha", results=results)
    assert isinstance(report, Report) and isinstance(report, os.PathLike)
    assert Path(report) == report.path == Path("reports/alpha/report.md") and str(report) == "reports/alpha/report.md"
    assert report == Path("reports/alpha/report.md")  # callers that treat it as a Path keep working
    assert report.with_name("report.html").is_file() and report.html.is_file() and report.parent.name == "alpha"
    assert open(report, encoding="utf-8").read().startswith("#")  # noqa: SIM115
    summary = report.tables["summary"]
    assert isinstance(summary, pd.DataFrame) and list(summary["runner"]) == ["a", "b"]
    assert summary.set_index("runner").loc["a", "accuracy_mean"] == pytest.approx(0.9)
    assert {"summary", "comparison", "runs"} <= set(report.tables) and report.summary is summary
    assert report.verdict == Path("reports/alpha/verdict.md").read_text(encoding="utf-8").strip() != ""
    shown = report._repr_html_()
    assert "<table" in shown and "Verdict" in shown and ">a<" in shown
    with pytest.raises(ReportError, match=r"no table 'nope' .*summary"):
        report.table("nope")


def test_api_options_are_spelled_out_as_run_options_fields():
    run_options = [f.name for f in fields(RunOptions) if f.name != "suite"]
    for function in (api.run, api.prepare):
        parameters = pyinspect.signature(function).parameters
        assert not [p for p in parameters.values() if p.kind is p.VAR_KEYWORD], function.__name__
        named = [n for n in parameters if n not in ("suite", "options")]
        assert sorted(named) == sorted([*run_options, "executor"]), function.__name__
        defaults = {n: parameters[n].default for n in run_options}
        assert RunOptions(**defaults) == RunOptions(), function.__name__  # the same defaults
    parameters = pyinspect.signature(api.profile).parameters
    assert list(parameters) == [f.name for f in fields(ProfileOptions)]
    assert ProfileOptions(**{n: p.default for n, p in parameters.items()}) == ProfileOptions()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_inspect_draws_progress_bars_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch):
    for terminal, quiet in ((True, False), (True, True), (False, False)):
        stream = _Terminal() if terminal else io.StringIO()
        monkeypatch.setattr("sys.stderr", stream)
        monkeypatch.setenv(output.ENV, output.QUIET if quiet else output.NORMAL)
        api.inspect("demo", runners=["tiny-roberta-512"], results=None)
        drawn = stream.getvalue()
        if terminal and not quiet:
            assert "loading and checking the data" in drawn and "inspect: runners' tokenizers" in drawn
            assert "tokenizing" in drawn and "tiny-roberta-512" in drawn
        else:
            assert drawn == ""


def test_shell_completion_with_the_completion_extra(tmp_path: Path):
    pytest.importorskip("argcomplete", reason="the completion extra is not installed (pip install -e '.[completion]')")
    import subprocess
    import sys

    answer = tmp_path / "completions"
    line = "bench leaderboard --for"
    asked = {"_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line))}
    env = {**os.environ, **asked, "_ARGCOMPLETE_STDOUT_FILENAME": str(answer)}
    done = subprocess.run([sys.executable, "-m", "bench"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert answer.read_text().split() == ["--format"]


@pytest.mark.slow
def test_quiet_run_prints_the_report_line_only(tmp_path: Path):
    """Not the plan, the epochs (which the worker processes write to the console themselves) or the table: the
    report's line; each run's log still has everything."""
    import subprocess
    import sys

    suite = write_suite(tmp_path / "tiny.yaml", TINY_SUITE.format(n_train=60, n_test=20, epochs=1))
    argv = [sys.executable, "-m", "bench", "-q", "run", "--suite", str(suite), "--results", "r"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "report: reports/tiny/report.md and reports/tiny/report.html\n" and done.stderr == ""
    log = (tmp_path / "r" / "tiny" / "runs" / "tiny-roberta-128" / "seed0.log").read_text()
    assert "epoch 1/1 · train loss" in log
