"""The catalogue of bad input: every mistake a user can type or feed gives one line naming the problem and the
fix, exit code 2, no traceback, and nothing written. (More CLI errors are in test_cli.py.)"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bench.cli import main
from tests.test_runners import _save_tiny_checkpoint

SUITE = """name: bad
data: {{source: files, files: {{train: {train}, test: {test}}}{data_extra}}}
runners: [{runner}]
protocol: {{epochs: 1, batch_size: 8, per_device_batch_size: 8{protocol_extra}}}
{extra}"""
TINY = "{runner: tiny-roberta-128, hidden_size: 16, num_layers: 1, vocab_size: 200}"


def docs(n: int, label=lambda i: ("neg", "pos")[i % 2], text=lambda i: f"document {i} is a fine film") -> list[dict]:
    return [{"text": text(i), "label": label(i)} for i in range(n)]


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


GOOD_TRAIN, GOOD_TEST = jsonl(docs(40)), jsonl(docs(20))

# id: (files, suite settings, extra CLI args, the start of the expected message, a fragment it must contain)
CASES = {
    "empty file": ({"train.jsonl": b""}, {}, [], "data file ", "train.jsonl is empty"),
    "empty texts": (
        {"train.jsonl": jsonl(docs(40, text=lambda i: "   " if i in (3, 7) else "a film"))},
        {},
        [],
        "2 train document(s) have no text (row(s) 4, 8)",
        "fill column 'text'",
    ),
    "null text": ({"train.jsonl": jsonl(docs(40, text=lambda i: None if i == 0 else "a film"))}, {}, [], "1 train", ""),
    "text column of numbers": (
        {"train.jsonl": jsonl(docs(40, text=lambda i: i))},
        {},
        [],
        "train column 'text' holds int64 values, not text",
        "data.text_column",
    ),
    "missing text column": (
        {"train.jsonl": jsonl([{"review": "a film", "label": "pos"}] * 40)},
        {},
        [],
        "train data has no column 'text' (columns: review, label)",
        "data.text_column",
    ),
    "missing label column": (
        {"test.jsonl": jsonl([{"text": "a film"}] * 20)},
        {},
        [],
        "test data has no column 'label'",
        "data.label_column",
    ),
    "label outside label_names": (
        {"train.jsonl": jsonl(docs(40, label=lambda i: i % 3)), "test.jsonl": jsonl(docs(20, label=lambda i: i % 2))},
        {"data_extra": ", label_names: [neg, pos]"},
        [],
        "labels [2] are outside 0..1 given by data.label_names",
        "",
    ),
    "string label not in label_names": (
        {},
        {"data_extra": ", label_names: [negative, positive]"},
        [],
        "labels ['neg', 'pos'] are not in data.label_names",
        "add them or fix the data",
    ),
    "duplicate label_names": (
        {},
        {"data_extra": ", label_names: [neg, neg]"},
        [],
        "suite data: label_names lists neg more than once",
        "",
    ),
    "test label never seen in train": (
        {"test.jsonl": jsonl(docs(20, label=lambda i: ("neg", "pos", "meh")[i % 3]))},
        {},
        [],
        "test labels ['meh'] never occur in the training data",
        "data.label_names",
    ),
    "mixed label types": (
        {"train.jsonl": jsonl(docs(40, label=lambda i: i % 2 if i < 20 else "pos"))},
        {},
        [],
        "the label column holds mixed values",
        "all strings or all integers",
    ),
    "float labels": (
        {"train.jsonl": jsonl(docs(40, label=lambda i: i / 2)), "test.jsonl": jsonl(docs(20, label=lambda i: 0.5))},
        {},
        [],
        "the label column holds float64 values",
        "",
    ),
    "one class only": (
        {"train.jsonl": jsonl(docs(40, label=lambda i: "pos")), "test.jsonl": jsonl(docs(20, label=lambda i: "pos"))},
        {},
        [],
        "the training data of suite 'bad' has only one class ('pos')",
        "at least two",
    ),
    "too few rows for the validation split": (
        {"train.jsonl": jsonl(docs(6))},
        {},
        [],
        "cannot carve a stratified 10% validation split from 6 training documents",
        "use more documents",
    ),
    "not UTF-8": (
        {"train.jsonl": jsonl(docs(40)).replace(b"document 5 is", "d\u00e9cor 5 is".encode("latin-1"))},
        {},
        [],
        "",
        "train.jsonl is not UTF-8 text (byte 0xe9 on line 6); re-save it as UTF-8",
    ),
    "not UTF-8, gzipped": (
        {"train.jsonl.gz": gzip.compress(b'{"text": "caf\xe9", "label": "pos"}\n' * 40)},
        {},
        [],
        "",
        "train.jsonl.gz is not UTF-8 text (byte 0xe9 on line 1)",
    ),
    "malformed JSON line": (
        {"train.jsonl": GOOD_TRAIN + b'{"text": "cut off", "label": \n'},
        {},
        [],
        "cannot read ",
        "train.jsonl as JSON lines: JSON parse error",
    ),
    "malformed CSV": (
        {
            "train.csv": b'text,label\n"an unclosed quote,pos\n' + b"a film,neg\n" * 30,
            "test.csv": b"text,label\na,pos\n",
        },
        {},
        [],
        "cannot read ",
        "train.csv as CSV: Error tokenizing data",
    ),
    "files of two formats": (
        {"train.csv": b"text,label\na,pos\n"},
        {},
        [],
        "data files ",
        "must share one format",
    ),
    "unknown runner parameter": (
        {},
        {"runner": "{runner: tiny-roberta-128, hidden: 16}"},
        [],
        "runner 'tiny-roberta-128' has no parameter(s) hidden",
        "its parameters: hidden_size",
    ),
    "odd attention window": (
        {},
        {"runner": "{runner: tiny-longformer-2048, attention_window: 31}"},
        [],
        "runner 'tiny-longformer-2048': attention_window must be a positive even integer, got 31",
        "",
    ),
    "negative attention window": (
        {},
        {"runner": "{runner: tiny-longformer-2048, attention_window: -64}"},
        [],
        "runner 'tiny-longformer-2048': attention_window must be a positive even integer",
        "",
    ),
    "max length beyond the model": (
        {},
        {"runner": "{runner: roberta-512, max_length: 1024, model_id: CHECKPOINT}"},
        [],
        "runner 'roberta-512': max_length 1024 is more than ",
        "supports (512); use max_length <= 512",
    ),
    "zero epochs in the suite": (
        {},
        {"protocol_extra": ", epochs: 0"},
        [],
        "protocol: epochs must be a positive integer, got 0",
        "",
    ),
    "epochs not a number": (
        {},
        {"protocol_extra": ", epochs: two"},
        [],
        "protocol: epochs must be a positive integer",
        "",
    ),
    "negative learning rate": (
        {},
        {"protocol_extra": ", learning_rate: -1"},
        [],
        "protocol: learning_rate must be",
        "",
    ),
    "batch not a multiple of the micro-batch": (
        {},
        {"protocol_extra": ", per_device_batch_size: 3"},
        [],
        "protocol: batch_size (8) must be a multiple of per_device_batch_size (3)",
        "",
    ),
    "--epochs 0": ({}, {}, ["--epochs", "0"], "argument --epochs: expected a positive integer, got '0'", ""),
    "--limit -5": ({}, {}, ["--limit", "-5"], "argument --limit: expected a positive integer, got '-5'", ""),
    "--limit 0": ({}, {}, ["--limit", "0"], "argument --limit: expected a positive integer, got '0'", ""),
    "--seeds not integers": ({}, {}, ["--seeds", "0,one"], "argument --seeds: expected comma-separated integers", ""),
    "seeds not integers in the suite": (
        {},
        {"extra": "seeds: [0, 1.5]\n"},
        [],
        "suite 'bad': seeds must be integers, got 1.5",
        "",
    ),
    "unknown suite key": (
        {},
        {"extra": "protocl: {epochs: 2}\n"},
        [],
        "suite file ",
        "unknown key(s) protocl; allowed: data",
    ),
    "YAML syntax error": ({}, {"extra": "seeds: [0, 1\n"}, [], "suite file ", "is not valid YAML: line "),
    "suite name leaving the results folder": (
        {},
        {"extra": "name: ../../escaped\n"},
        [],
        "suite file ",
        "suite name '../../escaped' cannot name a folder of the results",
    ),
    "suite named like bench's own folder": ({}, {"extra": "name: profile\n"}, [], "suite file ", "is reserved"),
    "runner alias leaving the results folder": (
        {},
        {"runner": "{runner: tiny-roberta-128, hidden_size: 16, alias: ../y}"},
        [],
        "suite file ",
        "runner alias '../y' cannot name a folder of the results",
    ),
    "trust_remote_code not a boolean": (
        {},
        {"runner": "{runner: roberta-512, trust_remote_code: 'no'}"},
        [],
        "",
        "trust_remote_code must be true or false, got 'no'",
    ),
    "unknown runner": (
        {},
        {},
        ["--runners", "robrta-512"],
        "Unknown runner 'robrta-512'. Did you mean 'roberta-512'",
        "",
    ),
}


def _run(tmp_path: Path, files: dict, settings: dict, args: list[str], capsys) -> tuple[int, str, Path]:
    all_files = {"train.jsonl": GOOD_TRAIN, "test.jsonl": GOOD_TEST}
    if any(name.startswith("train.") and name != "train.jsonl" for name in files):
        del all_files["train.jsonl"]
    if "test.csv" in files:
        del all_files["test.jsonl"]
    all_files.update(files)
    for name, content in all_files.items():
        (tmp_path / name).write_bytes(content)
    train = next(n for n in all_files if n.startswith("train."))
    test = next(n for n in all_files if n.startswith("test."))
    values = {"data_extra": "", "protocol_extra": "", "extra": "", "runner": TINY} | settings
    if "CHECKPOINT" in values["runner"]:
        values["runner"] = values["runner"].replace(
            "CHECKPOINT", str(_save_tiny_checkpoint(tmp_path / "ckpt", "roberta"))
        )
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(train=train, test=test, **values))
    results = tmp_path / "results"
    capsys.readouterr()  # only what bench prints counts
    try:
        code = main(["run", "--suite", str(suite), "--results", str(results), *args])
    except SystemExit as exit_:
        code = exit_.code
    return code, str(results), results


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_one_clear_line(case: str, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files, settings, args, starts, contains = CASES[case]
    code, _, results = _run(tmp_path, files, settings, args, capsys)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("bench: error: "), err  # one line: no traceback, no progress bars
    message = err.removeprefix("bench: error: ").strip()
    assert message.startswith(starts) and contains in message, message
    assert not results.exists()  # nothing written
    assert not (tmp_path / "reports").exists()
    assert not list(tmp_path.parent.glob("escaped")) and not (tmp_path / "y").exists()  # nothing anywhere else


def test_report_on_a_suite_without_results(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["report", "--suite", "demo", "--results", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no results for suite 'demo'" in err, err
    assert not (tmp_path / "reports").exists()
