"""Real-name runners build through `from_pretrained`, tested on tiny checkpoints saved locally."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.data import load_suite_data
from bench.data.suite import load_suite
from bench.errors import BenchError
from bench.runners import build_runner
from bench.runners.tokenizers import train_tokenizer
from bench.train.trainer import RunnerCollator, train_and_evaluate

TEXTS = ["a tiny corpus of words", "for a tokenizer that trains in well under a second", "brilliant awful film"]


def _save_tiny_checkpoint(folder: Path, kind: str) -> Path:
    from transformers import (
        BigBirdConfig,
        BigBirdForSequenceClassification,
        LongformerConfig,
        LongformerForSequenceClassification,
        ModernBertConfig,
        ModernBertForSequenceClassification,
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
    elif kind == "bigbird":
        model = BigBirdForSequenceClassification(
            BigBirdConfig(max_position_embeddings=4096, block_size=8, num_random_blocks=1, **common)
        )
    elif kind == "modernbert":
        del common["type_vocab_size"]
        model = ModernBertForSequenceClassification(
            ModernBertConfig(max_position_embeddings=8192, local_attention=8, cls_token_id=0, sep_token_id=2, **common)
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
    mask = batch["attention_mask"]  # RoBERTa takes it prepared, [batch, 1, 1, length]; Longformer as [batch, length]
    assert mask.reshape(2, -1).sum(-1).tolist() == [min(700, len(ids)), 5]
    assert mask.dim() == (4 if runner.prepared_mask else 2) and runner.prepared_mask == (kind != "longformer")
    with torch.no_grad():
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    assert logits.shape == (2, 2)


@pytest.mark.slow
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


DOC = list(range(1000, 3000))  # token ids of a 2,000-token document: encode() only slices and adds specials
IN_VOCAB = [5 + i % 50 for i in range(2000)]  # the same, for the tiny models (their vocabulary is < 120 tokens)


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(lambda: iter(TEXTS * 20), vocab_size=120)


@pytest.mark.parametrize("name", ["roberta-headtail-512", "tiny-roberta-headtail-512"])
def test_head_tail_keeps_the_first_128_and_the_last_382_tokens(name: str, tokenizer):
    runner = build_runner(name)
    assert runner.truncation == "head+tail" and runner.content_tokens == 510
    ids = runner.encode(DOC, tokenizer)
    assert ids == [tokenizer.cls_token_id, *DOC[:128], *DOC[-382:], tokenizer.sep_token_id]
    assert runner.encode(DOC[:300], tokenizer)[1:-1] == DOC[:300]  # a short document is kept whole
    head_only = build_runner(name, {"head_tokens": 510}).encode(DOC, tokenizer)
    assert head_only[1:-1] == DOC[:510]
    assert build_runner(name, {"head_tokens": 0}).encode(DOC, tokenizer)[1:-1] == DOC[-510:]
    assert "first 128 + last 382 tokens" in runner.describe()


@pytest.mark.parametrize("head", [511, -1, "128", True])
def test_head_tokens_must_fit_in_max_length(head):
    with pytest.raises(BenchError, match=r"head_tokens must be an integer from 0 to max_length - 2 = 510"):
        build_runner("roberta-headtail-512", {"head_tokens": head})


def test_chunks_encode_fixed_size_chunks_each_with_its_specials(tokenizer):
    runner = build_runner("roberta-chunks-4096")
    assert (runner.n_chunks, runner.chunk_length, runner.pad_to_multiple_of) == (8, 512, 512)
    assert runner.content_tokens == 8 * 510 and runner.family == "roberta-chunks-mean"
    ids = runner.encode(DOC[:1200], tokenizer)  # 510 + 510 + 180 tokens
    assert len(ids) == 512 + 512 + 182
    for start, piece in ((0, DOC[:510]), (512, DOC[510:1020]), (1024, DOC[1020:1200])):
        chunk = ids[start : start + len(piece) + 2]
        assert chunk == [tokenizer.cls_token_id, *piece, tokenizer.sep_token_id]
    assert len(build_runner("roberta-chunks-4096", {"max_length": 1024}).encode(DOC, tokenizer)) == 1024
    assert runner.encode([], tokenizer) == [tokenizer.cls_token_id, tokenizer.sep_token_id]
    assert build_runner("roberta-chunks-max-4096").family == "roberta-chunks-max"


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"pooling": "sum"}, "pooling must be one of mean, max, got 'sum'"),
        ({"chunk_length": 500}, r"max_length \(4096\) must be a multiple of chunk_length \(500\)"),
        ({"chunk_length": 4}, "chunk_length must be an integer >= 8"),
    ],
)
def test_bad_chunk_parameters_are_refused(params: dict, match: str):
    with pytest.raises(BenchError, match=match):
        build_runner("roberta-chunks-4096", params)


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_chunk_model_pools_only_the_chunks_a_document_has(tmp_path: Path, pooling: str):
    checkpoint = _save_tiny_checkpoint(tmp_path / "roberta", "roberta")
    runner = build_runner("roberta-chunks-4096", {"model_id": str(checkpoint), "chunk_length": 16, "pooling": pooling})
    tokenizer = runner.build_tokenizer(lambda: iter(()))
    torch.manual_seed(0)
    model = runner.build_model(["neg", "pos"]).eval()
    with torch.no_grad():  # large random weights, so that every token and every chunk moves the output
        for p in model.parameters():
            p.normal_(0, 0.5)
    collate = RunnerCollator(tokenizer, runner)
    long, short = runner.encode(IN_VOCAB[:60], tokenizer), runner.encode(IN_VOCAB[30:40], tokenizer)
    batch = collate([{"input_ids": long, "label": 1}, {"input_ids": short, "label": 0}])
    assert batch["input_ids"].shape == (2, 80)  # 5 chunks of 16 (the long document's), padded at the end
    with torch.no_grad():
        together = model(**batch).logits
        alone = model(**collate([{"input_ids": short, "label": 0}])).logits
    # the short document's 4 all-padding chunks change nothing
    torch.testing.assert_close(together[1], alone[0])
    model.train()
    loss = model(**batch).loss
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_padding_chunks_change_nothing_whether_skipped_or_encoded(tmp_path: Path, pooling: str):
    """Skipping all-padding chunks needs their count on the host, a sync on a GPU, so there every chunk is encoded
    and the empty ones are left out of pooling: a document's pooled vector is the same either way, with or without
    a longer document in its batch, and nothing is NaN, forward or backward."""
    checkpoint = _save_tiny_checkpoint(tmp_path / "roberta", "roberta")
    runner = build_runner("roberta-chunks-4096", {"model_id": str(checkpoint), "chunk_length": 16, "pooling": pooling})
    tokenizer = runner.build_tokenizer(lambda: iter(()))
    torch.manual_seed(0)
    model = runner.build_model(["neg", "pos"]).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)
    collate = RunnerCollator(tokenizer, runner)
    long, short = runner.encode(IN_VOCAB[:60], tokenizer), runner.encode(IN_VOCAB[30:40], tokenizer)
    mixed = collate([{"input_ids": long, "label": 1}, {"input_ids": short, "label": 0}])
    alone = collate([{"input_ids": short, "label": 0}])
    assert mixed["attention_mask"].view(2, 5, 16)[1, 1:].sum() == 0  # four all-padding chunks
    pooled = {}
    for skip in (True, False):
        model.skip_empty_chunks = skip
        with torch.no_grad():
            together = model.pool(mixed["input_ids"], mixed["attention_mask"])
            by_itself = model.pool(alone["input_ids"], alone["attention_mask"])
        assert torch.isfinite(together).all()
        torch.testing.assert_close(together[1], by_itself[0])
        pooled[skip] = together
    torch.testing.assert_close(pooled[True], pooled[False])
    model.train()  # the encode-every-chunk path, as on a GPU
    model(**mixed).loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.slow
def test_chunk_runner_trains_and_reloads_its_best_checkpoint(tmp_path: Path, tiny_suite_file: Path, monkeypatch):
    """The chunk model is a plain nn.Module: the Trainer must still save it and restore the best epoch's weights."""
    import safetensors.torch
    import transformers

    reloaded = []
    original = transformers.Trainer._load_best_model

    def checked_load(self):
        original(self)
        saved = safetensors.torch.load_file(Path(self.state.best_model_checkpoint) / "model.safetensors")
        state = self.model.state_dict()
        assert set(saved) == set(state)
        reloaded.append(all(torch.equal(saved[k], state[k]) for k in state))

    monkeypatch.setattr(transformers.Trainer, "_load_best_model", checked_load)
    suite = load_suite(str(tiny_suite_file))
    runner = build_runner(
        "tiny-roberta-chunks-2048",
        {"max_length": 64, "chunk_length": 32, "hidden_size": 16, "num_layers": 1, "vocab_size": 200},
    )
    metrics, predictions = train_and_evaluate(runner, load_suite_data(suite), suite.protocol, 0, tmp_path / "run")
    assert reloaded == [True]
    assert len(predictions) == metrics["n_test"] == 20 and metrics["n_epochs"] == 2


def test_bigbird_records_the_attention_type_each_batch_ran(tmp_path: Path, tokenizer):
    checkpoint = _save_tiny_checkpoint(tmp_path / "bigbird", "bigbird")
    runner = build_runner("bigbird-4096", {"model_id": str(checkpoint), "block_size": 8, "num_random_blocks": 1})
    assert runner.pad_to_multiple_of == 8 and runner.min_sparse_length == 57
    model = runner.build_model(["neg", "pos"])
    assert model.config.attention_type == "block_sparse" and model.config.block_size == 8
    collate = RunnerCollator(tokenizer, runner)
    ids = runner.encode(IN_VOCAB, tokenizer)

    def step(length: int) -> None:
        batch = collate([{"input_ids": ids[:length], "label": 1}, {"input_ids": ids[:length], "label": 0}])
        model(**batch).loss.backward()

    model.train()
    step(100)  # 104 tokens after padding: block-sparse
    step(20)  # too short: transformers switches the model to full attention...
    step(100)  # ...and the runner switches it back for a long batch
    model.eval()
    with torch.no_grad():
        model(**collate([{"input_ids": ids[:30]}]))
    facts = runner.run_facts(model)
    assert facts["bigbird_train_batches_block_sparse"] == 2 and facts["bigbird_train_batches_full"] == 1
    assert facts["bigbird_train_block_sparse_fraction"] == pytest.approx(2 / 3)
    assert facts["bigbird_eval_batches_full"] == 1 and facts["bigbird_eval_block_sparse_fraction"] == 0
    assert facts["bigbird_attention_type"] == "mixed"
    assert runner.run_facts(object())["bigbird_attention_type"] is None  # a model the runner did not build
    with pytest.raises(BenchError, match="attention_type must be one of block_sparse, original_full"):
        build_runner("bigbird-4096", {"attention_type": "sparse"})


@pytest.mark.slow
def test_bigbird_attention_facts_reach_the_record(tmp_path: Path, tiny_suite_file: Path):
    checkpoint = _save_tiny_checkpoint(tmp_path / "bigbird", "bigbird")
    suite = load_suite(str(tiny_suite_file))
    runner = build_runner("bigbird-4096", {"model_id": str(checkpoint), "block_size": 8, "num_random_blocks": 1})
    metrics, _ = train_and_evaluate(runner, load_suite_data(suite), suite.protocol, 0, tmp_path / "run")
    # the tiny suite's 40-80-token documents are padded to 48-88 tokens: some batches sparse, some full
    assert metrics["facts"]["bigbird_requested_attention_type"] == "block_sparse"
    assert metrics["facts"]["bigbird_train_batches_block_sparse"] + metrics["facts"]["bigbird_train_batches_full"] > 0
    assert metrics["facts"]["bigbird_attention_type"] in ("block_sparse", "original_full", "mixed")


def test_modernbert_builds_with_its_specials_and_trains_a_step(tmp_path: Path):
    checkpoint = _save_tiny_checkpoint(tmp_path / "modernbert", "modernbert")
    runner = build_runner("modernbert-8192", {"model_id": str(checkpoint)})
    assert runner.max_length == 8192 and runner.model_id == str(checkpoint)
    assert build_runner("modernbert-8192").model_id == "answerdotai/ModernBERT-base"
    tokenizer = runner.build_tokenizer(lambda: iter(()))
    model = runner.build_model(["neg", "pos"])
    assert type(model).__name__ == "ModernBertForSequenceClassification"
    ids = runner.encode(IN_VOCAB[:40], tokenizer)
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id and len(ids) == 42
    batch = RunnerCollator(tokenizer, runner)([{"input_ids": ids, "label": 1}, {"input_ids": ids[:9], "label": 0}])
    out = model(**batch)
    out.loss.backward()
    assert out.logits.shape == (2, 2)


def test_suite_files_override_the_new_runners_parameters(tmp_path: Path):
    from tests.conftest import write_suite

    suite = write_suite(
        tmp_path / "s.yaml",
        "name: s\ndata: {source: synthetic}\nrunners:\n"
        "  - {runner: roberta-headtail-512, head_tokens: 64}\n"
        "  - {runner: roberta-chunks-4096, max_length: 2048, chunk_length: 256, pooling: max}\n"
        "  - {runner: bigbird-4096, block_size: 32}\n"
        "  - {runner: tfidf-logreg, c_grid: [0.5, 2]}\n",
    )
    built = [build_runner(r.runner, r.params) for r in load_suite(str(suite)).runners]
    assert built[0].head_tokens == 64 and built[0].describe().endswith("(first 64 + last 446 tokens)")
    assert (built[1].n_chunks, built[1].pooling) == (8, "max")
    assert built[2].pad_to_multiple_of == 32
    assert built[3].c_grid == (0.5, 2.0)
    with pytest.raises(BenchError, match="runner 'roberta-chunks-4096' has no parameter"):
        build_runner("roberta-chunks-4096", {"pool": "max"})
