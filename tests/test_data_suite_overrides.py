"""Suite keys set from the command line (`--set KEY=VALUE`) or the API (`overrides=`): applied to the suite's mapping
before it is validated, so a bad key or value fails exactly as it would in the file, in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main
from bench.data.suite import load_suite, parse_override
from bench.errors import BenchError
from tests.conftest import write_suite
from tests.test_cli import run_error


def overridden(suite: str | Path, *pairs: str):
    return load_suite(suite, dict(parse_override(p) for p in pairs))


def test_values_are_read_as_yaml_and_land_where_the_key_says(tiny_suite_file: Path):
    suite = overridden(
        tiny_suite_file,
        "protocol.learning_rate=2e-5",  # YAML 1.1 would read a string here; a suite file reads the number too
        "data.text_column=body",
        "seeds=[0,1]",
        "runners.0.max_length=64",
        "report_to=tensorboard",
        "protocol.epochs=3",
        "protocol.epochs=1",  # the last one wins
    )
    assert suite.protocol.learning_rate == 2e-5 and suite.protocol.epochs == 1
    assert suite.data.text_column == "body" and suite.seeds == (0, 1)
    assert suite.runners[0].params["max_length"] == 64 and suite.runners[0].params["hidden_size"] == 16
    assert suite.report_to == ("tensorboard",)
    assert load_suite(tiny_suite_file).protocol.learning_rate == 5e-3  # the file itself is untouched


def test_a_builtin_suite_takes_overrides_and_missing_mappings_are_created():
    suite = overridden("demo", "data.synthetic.n_train=100", "data.positive_label=positive")
    assert suite.data.synthetic["n_train"] == 100 and suite.data.positive_label == "positive"
    assert suite.data.synthetic["n_test"] == load_suite("demo").data.synthetic["n_test"]


def test_a_suite_file_reads_exponents_without_a_dot_as_numbers(tmp_path: Path, tiny_suite_file: Path):
    text = tiny_suite_file.read_text().replace("learning_rate: 5.0e-3", "learning_rate: 5e-3")
    assert load_suite(str(write_suite(tmp_path / "e.yaml", text))).protocol.learning_rate == 5e-3


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("protocol.learnin_rate=1e-3", "protocol: unknown key(s) learnin_rate; allowed: batch_size"),
        ("protocol.epochs=abc", "protocol: epochs must be a positive integer, got 'abc'"),
        ("seeds=[0,x]", "seeds must be integers, got 'x'"),
        ("colour=red", "unknown key(s) colour"),
        ("report_to=tensorbord", "unknown tracker 'tensorbord'. Did you mean 'tensorboard'?"),
        ("runners.3.max_length=64", "override runners.3.max_length: runners is a list of 1; index it from 0 to 0"),
        ("protocol.epochs.x=1", "override protocol.epochs.x: protocol.epochs is 2, not a mapping"),
    ],
)
def test_a_bad_key_or_value_is_one_line(tiny_suite_file: Path, pair: str, message: str):
    with pytest.raises(BenchError) as err:
        overridden(tiny_suite_file, pair)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("text", ["protocol.epochs", "=3", "protocol..epochs=3"])
def test_an_override_needs_a_dotted_key_and_a_value(text: str):
    with pytest.raises(BenchError, match="expected KEY=VALUE with a dotted suite key"):
        parse_override(text)


def test_bench_run_refuses_a_bad_override_before_anything_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_suite_file: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    message = run_error(capsys, tmp_path / "results", "--suite", str(tiny_suite_file), "--set", "protocol.lr=1e-3")
    assert "protocol: unknown key(s) lr" in message and message.endswith("(with the override(s) protocol.lr)")
    message = run_error(capsys, tmp_path / "results", "--suite", str(tiny_suite_file), "--set", "protocol.lr")
    assert message.startswith("argument --set: expected KEY=VALUE")


def test_bench_list_shows_the_suite_with_its_overrides(capsys: pytest.CaptureFixture[str]):
    assert main(["list", "--suite", "demo", "--set", "protocol.epochs=1", "--set", "seeds=[3,4]"]) == 0
    out = capsys.readouterr().out
    assert "protocol: epochs=1," in out and "seeds: 3, 4" in out
    assert main(["list", "--set", "protocol.epochs=1"]) == 2
    assert capsys.readouterr().err == "bench: error: --set changes a suite: name one with --suite\n"
