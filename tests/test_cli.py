"""The command line: help with examples, `bench list`, and `bench run` user errors (exit 2, one line, no traceback,
nothing written), all raised before any training starts."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from bench.cli import main
from bench.data.suite import load_suite
from tests.conftest import write_suite

PROGRESS = re.compile(r"(\r?[^\r]*(examples/s|it/s)\]?)+")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # anything written to a relative path (results/, reports/) stays in the sandbox


def call(argv: list[str]) -> int:
    """main(argv)'s exit code, whether it returns one or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def run_error(capsys: pytest.CaptureFixture[str], results: Path, *args: str) -> str:
    """Run `bench run ARGS --results RESULTS`, check it fails as a user error, and return the message."""
    code = call(["run", *args, "--results", str(results)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    # datasets draws progress bars on stderr while the data is validated; the error itself is the one last line
    *progress, message = err.removesuffix("\n").split("\n")
    assert err.endswith("\n") and all(PROGRESS.fullmatch(line) for line in progress), err
    assert message.startswith("bench: error: "), err
    if results.exists():
        assert not [p for p in results.rglob("*") if p.is_file()]
    return message.removeprefix("bench: error: ")


def write_imdb_like(folder: Path, train: list[dict], test: list[dict]) -> Path:
    folder.mkdir()
    for name, records in (("train", train), ("test", test)):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return folder


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"]])
def test_help_shows_examples(capsys: pytest.CaptureFixture[str], argv: list[str]):
    assert call(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: bench")
    assert "examples:" in out
    assert "bench run --suite imdb --runners roberta-512,longformer-512-4096 --seeds 0,1,2" in out
    assert "bench run --suite my_suite.yaml" in out


def test_run_help_lists_its_options(capsys: pytest.CaptureFixture[str]):
    call(["run", "--help"])
    out = capsys.readouterr().out
    options = ("--suite", "--runners", "--seeds", "--limit", "--epochs", "--data-dir", "--results", "--overwrite",
               "--verbose")  # fmt: skip
    for option in options:
        assert option in out


def test_list_help_shows_examples(capsys: pytest.CaptureFixture[str]):
    assert call(["list", "--help"]) == 0
    assert "bench list --suite imdb" in capsys.readouterr().out


def test_list_shows_suites_and_runners(capsys: pytest.CaptureFixture[str]):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    suites, runners = out.split("\nrunners:\n")
    assert "  demo " in suites and "  imdb " in suites
    listed = [line.split()[0] for line in runners.splitlines() if line.strip()]
    assert "longformer-512-4096" in listed and "roberta-512" in listed and "tiny-roberta-128" in listed
    assert "window 512" in next(line for line in runners.splitlines() if "longformer-512-4096" in line)


def test_list_one_suite(capsys: pytest.CaptureFixture[str]):
    assert main(["list", "--suite", "demo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("suite demo: ")
    assert "data (synthetic): " in out and f"protocol: epochs={load_suite('demo').protocol.epochs}," in out
    runners = out.split("runners:\n")[1].split()
    assert runners[0] == "tiny-roberta-512" and "tiny-longformer-2048" in runners
    assert "[family tiny-longformer]" in out and "published results" not in out


def test_list_imdb_shows_its_published_results(capsys: pytest.CaptureFixture[str]):
    assert main(["list", "--suite", "imdb"]) == 0
    published = capsys.readouterr().out.split("published results")[1].splitlines()[1:]
    assert len(published) == 7
    assert published[0].split()[:3] == ["roberta", "0.953", "RoBERTa-base,"] and "Beltagy" in published[0]
    assert any(line.split()[:4] == ["bigbird", "0.952", "±", "0.002"] for line in published)


def test_list_unknown_suite(capsys: pytest.CaptureFixture[str]):
    assert main(["list", "--suite", "imbd"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bench: error: Unknown suite 'imbd'. Did you mean 'imdb'?") and err.count("\n") == 1


def test_unknown_suite(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    message = run_error(capsys, tmp_path / "results", "--suite", "dmeo")
    assert (
        message.startswith("Unknown suite 'dmeo'. Did you mean 'demo'?")
        and "Available: 20news, 20news-minilm, booksummaries, demo" in message
    )


def test_unknown_runner(capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_suite_file: Path):
    message = run_error(capsys, tmp_path / "results", "--suite", str(tiny_suite_file), "--runners", "tiny-roberta-12")
    suggestions, available = message.split(" Available: ")
    assert suggestions.startswith("Unknown runner 'tiny-roberta-12'. Did you mean ")
    assert "'tiny-roberta-128'" in suggestions and "longformer-512-4096" in available
    assert "Suite 'tiny' runs: tiny-roberta-128." in message


def test_missing_data_dir(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    message = run_error(capsys, tmp_path / "results", "--suite", "imdb", "--data-dir", str(tmp_path / "nowhere"))
    assert message.startswith(f"--data-dir {tmp_path / 'nowhere'} is not a directory")


def test_bad_suite_file(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    suite = write_suite(tmp_path / "bad.yaml", "name: bad\nrunners: [tiny-roberta-128\n")
    message = run_error(capsys, tmp_path / "results", "--suite", str(suite))
    assert message.startswith(f"suite file {suite} is not valid YAML")


def test_missing_suite_file(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    message = run_error(capsys, tmp_path / "results", "--suite", str(tmp_path / "nope.toml"))
    assert "does not exist" in message


def test_missing_column(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    rows = [{"review": f"doc {i}", "label": i % 2} for i in range(40)]
    data = write_imdb_like(tmp_path / "data", rows, rows[:10])
    message = run_error(
        capsys, tmp_path / "results", "--suite", "imdb", "--data-dir", str(data), "--runners", "tiny-roberta-128"
    )
    assert message.startswith("train data has no column 'text' (columns: review, label)")


def test_single_class_data(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    rows = [{"text": f"doc {i}", "label": 0} for i in range(40)]
    data = write_imdb_like(tmp_path / "data", rows, rows[:10])
    message = run_error(capsys, tmp_path / "results", "--suite", "imdb", "--data-dir", str(data))
    assert "has only one class ('neg')" in message


def test_too_small_limit(capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_suite_file: Path):
    message = run_error(capsys, tmp_path / "results", "--suite", str(tiny_suite_file), "--limit", "3")
    assert "cannot carve a stratified 10% validation split from 3 training documents" in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--limit", "0"], "argument --limit: expected a positive integer, got '0'"),
        (["--epochs", "-1"], "argument --epochs: expected a positive integer, got '-1'"),
        (["--seeds", "a,b"], "argument --seeds: expected comma-separated integers like 0,1,2, got 'a,b'"),
    ],
)
def test_bad_option_values(capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], expected: str):
    message = run_error(capsys, tmp_path / "results", "--suite", "demo", *args)
    assert message.startswith(expected) and "bench run --help" in message


def test_offline_hub_suite_without_data_dir_fails_fast(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    started = time.perf_counter()
    message = run_error(capsys, tmp_path / "results", "--suite", "imdb", "--runners", "tiny-roberta-128")
    assert time.perf_counter() - started < 20
    assert message.startswith("cannot load 'stanfordnlp/imdb' from the Hugging Face Hub")
    assert "pass --data-dir DIR" in message


def test_results_dir_not_writable(capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_suite_file: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    message = run_error(capsys, blocker / "results", "--suite", str(tiny_suite_file))
    assert message.startswith(f"cannot write to results dir {blocker / 'results'}")
    assert "pass --results DIR" in message
    assert blocker.read_text() == "not a folder"


def test_trust_remote_code_is_off_unless_a_suite_asks_and_then_warns(capsys, tmp_path: Path):
    from bench.runners import RUNNERS, build_runner

    defaults = [build_runner(n).params().get("trust_remote_code") for n in RUNNERS]
    assert True not in defaults and False in defaults  # pretrained runners have the switch, and it is off

    suite = write_suite(
        tmp_path / "remote.yaml",
        "name: remote\ndata: {source: files, files: {train: missing.jsonl, test: missing.jsonl}}\n"
        "runners: [{runner: roberta-512, trust_remote_code: true}]\n",
    )
    code = call(["run", "--suite", str(suite), "--results", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2  # the data is missing: the warning came first, before anything ran
    assert (
        "warning: runner 'roberta-512' sets trust_remote_code: it runs Python code from FacebookAI/roberta-base" in err
    )
