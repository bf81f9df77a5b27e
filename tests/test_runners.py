"""Real-name runners build through `from_pretrained`, tested on tiny checkpoints saved locally."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.data import load_suite_data
from bench.protocol import RunnerCollator, train_and_evaluate
from bench.runners import build_runner
from bench.runners.tiny import train_tokenizer
from bench.suite import load_suite

TEXTS = ["a tiny corpus of words", "for a tokenizer that trains in well under a second", "brilliant awful film"]


def _save_tiny_checkpoint(folder: Path, kind: str) -> Path:
    from transformers import (
        LongformerConfig,
        LongformerForSequenceClassification,
        RobertaConfig,
        RobertaForSequenceClassification,
    )

    tokenizer = train_tokenizer(lambda: iter(TEXTS * 20), vocab_size=120)
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    if kind == "longformer":
        model = LongformerForSequenceClassification(
            LongformerConfig(max_position_embeddings=4098, attention_window=[16, 16], **common)
        )
    else:
        model = RobertaForSequenceClassification(RobertaConfig(max_position_embeddings=514, **common))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize(("name", "kind"), [("roberta-512", "roberta"), ("longformer-512-4096", "longformer")])
def test_real_name_runner_builds_from_a_local_checkpoint(tmp_path: Path, name: str, kind: str):
    checkpoint = _save_tiny_checkpoint(tmp_path / kind, kind)
    runner = build_runner(name, {"model_id": str(checkpoint)})
    tokenizer = runner.build_tokenizer(lambda: iter(()))
    model = runner.build_model(["neg", "pos"])
    assert model.config.num_labels == 2 and model.config.id2label == {0: "neg", 1: "pos"}
    if kind == "longformer":
        # the runner's window replaces the checkpoint's, layer by layer
        assert list(model.config.attention_window) == [512, 512]

    long_doc = tokenizer("brilliant " * 5000, add_special_tokens=False)["input_ids"]
    ids = runner.encode(long_doc, tokenizer)
    assert len(ids) == runner.max_length
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id

    batch = RunnerCollator(tokenizer, runner)(
        [{"input_ids": ids[:700], "label": 1}, {"input_ids": ids[:5], "label": 0}]
    )
    if kind == "longformer":
        assert batch["input_ids"].shape == (2, 1024)  # padded to a multiple of the attention window
        assert batch["global_attention_mask"][:, 0].tolist() == [1, 1]
        assert int(batch["global_attention_mask"].sum()) == 2
    else:
        assert batch["input_ids"].shape == (2, 512)
    assert batch["attention_mask"].sum(-1).tolist() == [min(700, len(ids)), 5]
    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    assert logits.shape == (2, 2)


def test_real_name_runner_trains_under_the_protocol(tmp_path: Path, tiny_suite_file: Path):
    checkpoint = _save_tiny_checkpoint(tmp_path / "roberta", "roberta")
    suite = load_suite(str(tiny_suite_file))
    runner = build_runner("roberta-512", {"model_id": str(checkpoint)})
    metrics, predictions = train_and_evaluate(runner, load_suite_data(suite), suite.protocol, 0, tmp_path / "run")
    assert len(predictions) == metrics["n_test"] == 20
    assert metrics["n_epochs"] == 2 and len(metrics["epochs"]) == 2


def test_longformer_window_must_be_positive_and_even():
    from bench.errors import BenchError

    with pytest.raises(BenchError, match="positive even"):
        build_runner("longformer-512-4096", {"attention_window": 63})
