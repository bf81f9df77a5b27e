"""Suites: the built-in ones, user suites in YAML and TOML, and the errors a user sees for a bad suite file."""

from __future__ import annotations

import dataclasses
import itertools
import re
from pathlib import Path

import pytest

from bench.config import DataConfig, ProtocolConfig, RunnerRef, SuiteConfig
from bench.data.suite import builtin_suites, load_suite
from bench.errors import BenchError
from bench.runners import RUNNERS
from tests.conftest import write_suite

LONGFORMERS = {f"longformer-{w}-{n}" for w, n in itertools.product((128, 256, 512), (1024, 2048, 4096))}

USER_YAML = """
name: mine
description: "  my own suite  "
data:
  source: files
  files: {train: train.jsonl, test: test.jsonl}
  text_column: body
  label_column: stars
  label_names: [bad, good]
runners:
  - tiny-roberta-128
  - {runner: tiny-roberta-128, alias: small, hidden_size: 16, num_layers: 1}
seeds: [0, 1, 2]
protocol:
  epochs: 2
  learning_rate: 1.0e-4
  batch_size: 16
  per_device_batch_size: 4
"""

USER_TOML = """
name = "mine"
description = "  my own suite  "
seeds = [0, 1, 2]
runners = ["tiny-roberta-128", {runner = "tiny-roberta-128", alias = "small", hidden_size = 16, num_layers = 1}]

[data]
source = "files"
files = {train = "train.jsonl", test = "test.jsonl"}
text_column = "body"
label_column = "stars"
label_names = ["bad", "good"]

[protocol]
epochs = 2
learning_rate = 1.0e-4
batch_size = 16
per_device_batch_size = 4
"""

MINIMAL = """
data: {{source: synthetic, synthetic: {{n_train: 20}}}}
runners: [tiny-roberta-128]
{extra}
"""


def test_builtin_suites_are_demo_and_imdb():
    suites = builtin_suites()
    assert {"demo", "imdb"} <= set(suites)
    assert all(path.is_file() and path.suffix == ".yaml" for path in suites.values())


def test_demo_suite_loads():
    suite = load_suite("demo")
    assert suite.name == "demo" and suite.description
    assert suite.data.source == "synthetic"
    assert 512 < suite.data.synthetic["min_tokens"] < suite.data.synthetic["max_tokens"] == 1200
    assert suite.data.label_names == ("negative", "positive")
    assert [r.name for r in suite.runners] == [
        "tiny-roberta-512",
        "tiny-roberta-headtail-512",
        "tiny-longformer-2048",
        "tiny-roberta-chunks-2048",
    ]
    assert suite.protocol.batch_size % suite.protocol.per_device_batch_size == 0
    assert suite.source_file == str(builtin_suites()["demo"])


def test_imdb_suite_pins_a_revision_and_names_all_real_runners():
    suite = load_suite("imdb")
    assert suite.data.source == "hub" and suite.data.path == "stanfordnlp/imdb"
    assert re.fullmatch(r"[0-9a-f]{40}", suite.data.revision or "")
    assert suite.data.label_names == ("neg", "pos")
    names = [r.name for r in suite.runners]
    assert set(names) == {"tfidf-logreg", "roberta-512", "roberta-headtail-512"} | LONGFORMERS and len(names) == 12
    assert all(name in RUNNERS for name in names)
    assert suite.protocol.batch_size == 32
    # sized to the device before training: the tutorial's micro-batch of 4 with checkpointing was an 8 GB GPU's
    assert suite.protocol.per_device_batch_size == suite.protocol.eval_batch_size == "auto"
    assert suite.protocol.gradient_checkpointing is False


def test_user_suite_from_yaml(tmp_path: Path):
    suite = load_suite(str(write_suite(tmp_path / "mine.yaml", USER_YAML)))
    assert suite.name == "mine" and suite.description == "my own suite"
    assert suite.data == DataConfig(
        source="files",
        files={"train": "train.jsonl", "test": "test.jsonl"},
        text_column="body",
        label_column="stars",
        label_names=("bad", "good"),
    )
    assert suite.runners == (
        RunnerRef(runner="tiny-roberta-128"),
        RunnerRef(runner="tiny-roberta-128", params={"hidden_size": 16, "num_layers": 1}, alias="small"),
    )
    assert [r.name for r in suite.runners] == ["tiny-roberta-128", "small"]
    assert suite.seeds == (0, 1, 2)
    assert suite.protocol == ProtocolConfig(epochs=2, learning_rate=1e-4, batch_size=16, per_device_batch_size=4)
    assert suite.protocol.gradient_accumulation_steps == 4
    assert suite.source_file == str(tmp_path / "mine.yaml")


def test_toml_and_yaml_give_the_same_suite(tmp_path: Path):
    from_yaml = load_suite(str(write_suite(tmp_path / "mine.yaml", USER_YAML)))
    from_toml = load_suite(str(write_suite(tmp_path / "mine.toml", USER_TOML)))
    assert from_toml.source_file == str(tmp_path / "mine.toml")
    assert isinstance(from_toml, SuiteConfig)
    assert dataclasses.replace(from_toml, source_file=None) == dataclasses.replace(from_yaml, source_file=None)


def test_suite_name_defaults_to_the_file_stem_and_defaults_apply(tmp_path: Path):
    suite = load_suite(str(write_suite(tmp_path / "quick.yml", MINIMAL.format(extra=""))))
    assert suite.name == "quick"
    assert suite.seeds == (0,)
    assert suite.protocol == ProtocolConfig()


@pytest.mark.parametrize(
    ("text", "where", "key"),
    [
        (MINIMAL.format(extra="seed: [1]"), "", "seed"),
        (
            MINIMAL.format(extra="").replace("source: synthetic", "source: synthetic, text_col: body"),
            " data",
            "text_col",
        ),
        (MINIMAL.format(extra="protocol: {epoch: 3}"), " protocol", "epoch"),
    ],
    ids=["top-level", "data", "protocol"],
)
def test_unknown_key_is_named(tmp_path: Path, text: str, where: str, key: str):
    path = write_suite(tmp_path / "typo.yaml", text)
    with pytest.raises(BenchError) as info:
        load_suite(str(path))
    assert str(info.value).startswith(f"suite file {path}{where}: unknown key(s) {key}; allowed: ")


def test_yaml_syntax_error_is_a_bench_error(tmp_path: Path):
    path = write_suite(tmp_path / "broken.yaml", "name: x\ndata: {source: synthetic\nrunners: [a]\n")
    with pytest.raises(BenchError, match=r"is not valid YAML: ") as info:
        load_suite(str(path))
    assert "\n" not in str(info.value)


def test_toml_syntax_error_is_a_bench_error(tmp_path: Path):
    path = write_suite(tmp_path / "broken.toml", "name = \n[data]\n")
    with pytest.raises(BenchError, match=r"is not valid TOML: "):
        load_suite(str(path))


def test_non_utf8_suite_file(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: café\n".encode("latin-1") + MINIMAL.format(extra="").encode())
    with pytest.raises(BenchError, match="is not UTF-8 text; save it as UTF-8"):
        load_suite(str(path))


def test_python_object_tag_is_refused(tmp_path: Path):
    # yaml.load would call os.system here; safe loading must refuse the tag instead
    marker = tmp_path / "pwned"
    text = MINIMAL.format(extra=f"description: !!python/object/apply:os.system ['touch {marker}']")
    with pytest.raises(BenchError, match="is not valid YAML"):
        load_suite(str(write_suite(tmp_path / "evil.yaml", text)))
    assert not marker.exists()


def test_suite_file_that_is_not_a_mapping(tmp_path: Path):
    with pytest.raises(BenchError, match="must be a mapping"):
        load_suite(str(write_suite(tmp_path / "list.yaml", "- demo\n- imdb\n")))


def test_missing_suite_file(tmp_path: Path):
    with pytest.raises(BenchError, match="does not exist"):
        load_suite(str(tmp_path / "nowhere.yaml"))


def test_unknown_suite_name_suggests_a_builtin():
    with pytest.raises(BenchError) as info:
        load_suite("dmeo")
    message = str(info.value)
    assert "Unknown suite 'dmeo'. Did you mean 'demo'?" in message
    assert (
        "Available: 20news, 20news-minilm, booksummaries, demo, ecthr-a, eurlex57k, eurlex57k-inverted, "
        "eurlex57k-minilm, hyperpartisan, imdb" in message
    )
    assert "A user suite is a path to a .yaml or .toml file." in message


def test_runner_entry_without_runner_key(tmp_path: Path):
    text = MINIMAL.format(extra="").replace("runners: [tiny-roberta-128]", "runners: [{alias: x}]")
    with pytest.raises(BenchError, match="each runner is a name or a mapping with a 'runner:' key"):
        load_suite(str(write_suite(tmp_path / "s.yaml", text)))


def test_same_runner_twice_needs_an_alias(tmp_path: Path):
    text = MINIMAL.format(extra="").replace("[tiny-roberta-128]", "[tiny-roberta-128, tiny-roberta-128]")
    with pytest.raises(BenchError, match="lists runner\\(s\\) tiny-roberta-128 twice; give each an 'alias'"):
        load_suite(str(write_suite(tmp_path / "s.yaml", text)))


def test_batch_size_must_be_a_multiple_of_per_device_batch_size(tmp_path: Path):
    text = MINIMAL.format(extra="protocol: {batch_size: 10, per_device_batch_size: 4}")
    with pytest.raises(BenchError, match=r"batch_size \(10\) must be a multiple of per_device_batch_size \(4\)"):
        load_suite(str(write_suite(tmp_path / "s.yaml", text)))


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("protocol: {epochs: 0}", "epochs must be a positive integer"),
        ("protocol: {validation_fraction: 1.5}", "validation_fraction must be between 0 and 1"),
        ("protocol: {mixed_precision: fp8}", "mixed_precision must be one of"),
        ("seeds: []", "'seeds' must be a non-empty list"),
        ("seeds: [a]", "seeds must be integers"),
    ],
)
def test_invalid_settings_are_refused(tmp_path: Path, extra: str, match: str):
    with pytest.raises(BenchError, match=match):
        load_suite(str(write_suite(tmp_path / "s.yaml", MINIMAL.format(extra=extra))))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ("{source: web}", "source must be one of hub, files, synthetic"),
        ("{source: hub}", "source 'hub' needs a 'path'"),
        ("{source: files}", "source 'files' needs 'files'"),
    ],
)
def test_invalid_data_config_is_refused(tmp_path: Path, data: str, match: str):
    with pytest.raises(BenchError, match=match):
        load_suite(str(write_suite(tmp_path / "s.yaml", f"data: {data}\nrunners: [tiny-roberta-128]\n")))


def test_imdb_suite_compares_with_the_published_imdb_results():
    refs = {(r.family, r.model): r for r in load_suite("imdb").references}
    assert refs[("roberta", "RoBERTa-base, first 512 tokens")].accuracy == 0.953
    assert refs[("longformer", "Longformer-base, max length 4096")].accuracy == 0.957
    bigbird = next(r for r in refs.values() if r.family == "bigbird")
    assert (bigbird.accuracy, bigbird.std) == (0.952, 0.002)
    sun = sorted((r.family, r.accuracy) for r in refs.values() if "Sun" in r.source)
    assert sun == [("roberta", 0.9437), ("roberta-headtail", 0.9458), ("roberta-tail", 0.9456)]
    assert any(r.accuracy == 0.9538 and "tutorial" in r.source for r in refs.values())
    assert all(r.source and r.model for r in refs.values())


def test_a_suite_adds_references_of_its_own_after_a_shipped_table(tmp_path: Path):
    extra = """references:
  - imdb
  - {family: tiny-roberta, model: my earlier run, accuracy: 0.91, std: 0.01, source: lab notebook, note: 3 seeds}
"""
    suite = load_suite(str(write_suite(tmp_path / "s.yaml", MINIMAL.format(extra=extra))))
    assert len(suite.references) == 8 and suite.references[0].family == "roberta"
    mine = suite.references[-1]
    assert (mine.family, mine.accuracy, mine.std, mine.source, mine.note) == (
        "tiny-roberta",
        0.91,
        0.01,
        "lab notebook",
        "3 seeds",
    )
    assert load_suite(str(write_suite(tmp_path / "t.yaml", MINIMAL.format(extra="")))).references == ()


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("references: imdb", "'references' must be a list of table names"),
        ("references: [sst2]", "unknown references table 'sst2'; bench ships: imdb"),
        (
            "references: [{family: x, model: y, accuracy: 95.3, source: z}]",
            r"in \(0, 1\] \(a fraction: 0.953, not 95.3\)",
        ),
        ("references: [{family: x, model: y, accuracy: 0.9}]", "a reference needs source"),
        ("references: [{family: x, model: y, accuracy: 0.9, source: z, year: 2020}]", r"unknown key\(s\) year"),
        ("references: [{family: '', model: y, accuracy: 0.9, source: z}]", "'family' must be a non-empty string"),
        ("references: [{family: x, model: y, accuracy: 0.9, source: z, std: -1}]", "'std' must be a non-negative"),
        ("references: [3]", "each reference is a table name or a mapping"),
    ],
)
def test_invalid_references_are_refused(tmp_path: Path, extra: str, match: str):
    with pytest.raises(BenchError, match=match):
        load_suite(str(write_suite(tmp_path / "s.yaml", MINIMAL.format(extra=extra))))


def test_every_shipped_reference_table_is_valid_and_names_its_source(tmp_path: Path):
    from bench.data.suite import published_references

    tables = published_references()
    for name in tables:  # through a suite naming the table, as a user's suite would
        suite = load_suite(str(write_suite(tmp_path / f"{name}.yaml", MINIMAL.format(extra=f"references: [{name}]"))))
        assert len(suite.references) == len(tables[name]) > 0, name
        assert all(r.source and r.model and r.value is not None for r in suite.references), name
