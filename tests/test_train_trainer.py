"""The protocol on a tiny suite: best epoch chosen on validation, test touched once, honest measurements."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import transformers

from bench.data import load_suite_data
from bench.data.suite import load_suite
from bench.runners import build_runner
from bench.train.trainer import _epoch_history, classification_metrics, train_and_evaluate, training_arguments


@pytest.fixture
def spy_evaluations(monkeypatch):
    """Record the size of every dataset the Trainer evaluates or predicts on."""
    calls: list[tuple[str, int]] = []
    evaluate, predict = transformers.Trainer.evaluate, transformers.Trainer.predict

    def spy_evaluate(self, eval_dataset=None, *args, **kwargs):
        calls.append(("evaluate", len(eval_dataset if eval_dataset is not None else self.eval_dataset)))
        return evaluate(self, eval_dataset, *args, **kwargs)

    def spy_predict(self, test_dataset, *args, **kwargs):
        calls.append(("predict", len(test_dataset)))
        return predict(self, test_dataset, *args, **kwargs)

    monkeypatch.setattr(transformers.Trainer, "evaluate", spy_evaluate)
    monkeypatch.setattr(transformers.Trainer, "predict", spy_predict)
    return calls


@pytest.mark.smoke
@pytest.mark.slow
def test_protocol_selects_on_validation_and_touches_test_once(tiny_suite_file: Path, tmp_path: Path, spy_evaluations):
    suite = load_suite(str(tiny_suite_file))
    suite = suite.replace(protocol=type(suite.protocol)(**{**vars(suite.protocol), "epochs": 3}))
    data = load_suite_data(suite)
    ref = suite.runners[0]
    runner = build_runner(ref.runner, ref.params)

    metrics, predictions = train_and_evaluate(runner, data, suite.protocol, seed=0, checkpoints=tmp_path / "run")

    n_val, n_test = len(data.splits["validation"]), len(data.splits["test"])
    assert spy_evaluations.count(("predict", n_test)) == 1
    assert [c for c in spy_evaluations if c[0] == "evaluate"] == [("evaluate", n_val)] * 3
    # the best epoch is the first one with the highest validation accuracy
    val_acc = [e["val_accuracy"] for e in metrics["epochs"]]
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2, 3]
    assert metrics["best_epoch"] == 1 + int(np.argmax(val_acc))
    assert all("train_loss" in e for e in metrics["epochs"])

    # predictions line up with the test examples, and the metrics are theirs
    truth = dict(zip(data.splits["test"]["id"], data.splits["test"]["label"], strict=True))
    assert len(predictions) == n_test
    assert all(p["label"] == truth[p["id"]] for p in predictions)
    assert metrics["accuracy"] == pytest.approx(np.mean([p["pred"] == p["label"] for p in predictions]))
    assert all(0.5 <= p["score"] <= 1.0 for p in predictions)
    assert all(p["n_tokens"] >= 40 for p in predictions)

    # measured where measurable, missing (not zero) where not
    assert metrics["peak_gpu_mem_mb"] is None and metrics["peak_gpu_mem_nvml_mb"] is None
    assert metrics["peak_cpu_rss_mb"] > 50
    assert 0 < metrics["train_tokens_per_s"] <= metrics["train_padded_tokens_per_s"]
    assert metrics["train_samples_per_s"] > 0 and metrics["eval_samples_per_s"] > 0
    assert metrics["n_params"] > 0 and metrics["n_train"] == len(data.splits["train"])
    # epoch checkpoints for resuming stay (the worker deletes them once the record is written), pruned to the
    # latest and the best
    assert 1 <= len(list((tmp_path / "run").glob("checkpoint-*"))) <= 2


def test_epoch_history_maps_best_step_to_its_epoch():
    state = SimpleNamespace(
        best_global_step=10,
        log_history=[
            {"loss": 0.7, "epoch": 1.0, "step": 10},
            {"eval_accuracy": 0.9, "eval_loss": 0.3, "eval_runtime": 1.0, "epoch": 1.0, "step": 10},
            {"loss": 0.2, "epoch": 2.0, "step": 20},
            {"eval_accuracy": 0.8, "eval_loss": 0.5, "eval_runtime": 1.0, "epoch": 2.0, "step": 20},
            {"train_runtime": 3.0, "epoch": 2.0, "step": 20},
        ],
    )
    epochs, best = _epoch_history(SimpleNamespace(state=state))
    assert best == 1
    assert epochs == [
        {"epoch": 1, "train_loss": 0.7, "val_accuracy": 0.9, "val_loss": 0.3},
        {"epoch": 2, "train_loss": 0.2, "val_accuracy": 0.8, "val_loss": 0.5},
    ]


def test_effective_batch_is_fixed_by_the_protocol(tmp_path: Path):
    import dataclasses

    suite = load_suite("imdb")
    with pytest.raises(ValueError, match="auto"):  # sized to the device by the probe first
        training_arguments(suite.protocol, seed=3, output_dir=tmp_path)
    protocol = dataclasses.replace(suite.protocol, per_device_batch_size=4, eval_batch_size=16)
    args = training_arguments(protocol, seed=3, output_dir=tmp_path)
    assert args.per_device_train_batch_size * args.gradient_accumulation_steps == 32
    assert args.learning_rate == 3e-5 and args.weight_decay == 0.01 and args.num_train_epochs == 5
    assert args.load_best_model_at_end and args.metric_for_best_model == "accuracy"
    assert args.eval_strategy == "epoch" and args.train_sampling_strategy == "group_by_length"
    assert not args.fp16 and not args.bf16  # no GPU here: mixed precision is a GPU-only setting


def test_classification_metrics_binary_and_macro():
    labels, preds = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    m = classification_metrics(labels, preds, 2)
    assert m == pytest.approx({"accuracy": 0.75, "precision": 2 / 3, "recall": 1.0, "f1": 0.8})
    m3 = classification_metrics(np.array([0, 1, 2]), np.array([0, 1, 1]), 3)
    assert m3["accuracy"] == pytest.approx(2 / 3) and m3["recall"] == pytest.approx(2 / 3)


def test_no_host_sync_settings_and_one_device(tmp_path: Path):
    import dataclasses

    protocol = dataclasses.replace(load_suite("imdb").protocol, per_device_batch_size=8, eval_batch_size=8)
    args = training_arguments(protocol, seed=0, output_dir=tmp_path)
    assert args.logging_nan_inf_filter is False  # the NaN/inf filter syncs the host every micro-batch
    # whatever the number of GPUs the machine has: a run sees one
    assert args.gradient_accumulation_steps == protocol.batch_size // protocol.per_device_batch_size


def test_f1_is_for_the_stated_positive_class():
    labels, preds = np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1])
    as_one = classification_metrics(labels, preds, 2)  # the default: label id 1
    as_zero = classification_metrics(labels, preds, 2, positive=0)
    assert as_one["f1"] == pytest.approx(2 / 3) and as_zero["f1"] == pytest.approx(0.8)
    assert as_one["accuracy"] == as_zero["accuracy"] == 0.75


def test_one_micro_batch_of_8_has_the_gradients_of_4_micro_batches_of_2(tmp_path: Path):
    """The accumulation regression: the Trainer must divide each micro-batch's mean loss by the accumulation steps."""
    from datasets import Dataset
    from transformers import RobertaConfig, RobertaForSequenceClassification, TrainerCallback

    from bench.config import ProtocolConfig
    from bench.train.measure import TokenCounter
    from bench.train.trainer import CountingTrainer, RunnerCollator

    rows = {"input_ids": [[0, 5 + i, 6 + i, 7, 2] for i in range(8)], "label": [i % 2 for i in range(8)]}
    rows["attention_mask"] = [[1] * 5] * 8
    rows["length"] = [5] * 8
    data = Dataset.from_dict(rows)  # equal lengths: one optimizer step holds all 8, whatever the order

    class Grads(TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
            self.grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}

    def gradients(micro: int) -> dict:
        torch.manual_seed(0)
        config = RobertaConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=32, max_position_embeddings=16, hidden_dropout_prob=0.0,
                               attention_probs_dropout_prob=0.0, classifier_dropout=0.0)  # fmt: skip
        model = RobertaForSequenceClassification(config)
        protocol = ProtocolConfig(epochs=1, batch_size=8, per_device_batch_size=micro, warmup_ratio=0.0)
        args = training_arguments(protocol, 0, tmp_path / f"m{micro}")
        args.eval_strategy, args.save_strategy, args.load_best_model_at_end = "no", "no", False
        spy = Grads()
        tokenizer = type("Tok", (), {"pad_token_id": 1})()
        runner = build_runner("tiny-roberta-128")
        trainer = CountingTrainer(model=model, args=args, train_dataset=data, data_collator=RunnerCollator(tokenizer, runner),
                                  callbacks=[spy], counter=TokenCounter())  # fmt: skip
        trainer.train()
        return spy.grads

    whole, accumulated = gradients(8), gradients(2)
    assert whole.keys() == accumulated.keys() and whole
    for name in whole:
        torch.testing.assert_close(accumulated[name], whole[name], rtol=1e-4, atol=1e-6, msg=name)


def test_compile_is_the_trainers_and_pads_to_a_few_shapes(tmp_path: Path):
    """protocol.compile: the Trainer compiles the model, and the collator pads every batch to a multiple of 64
    tokens (Longformer's window and 64 both), so that a few shapes are compiled instead of one per length."""
    import dataclasses

    from bench.runners import build_runner
    from bench.train.encoding import RunnerCollator
    from bench.train.trainer import training_arguments

    protocol = dataclasses.replace(load_suite("demo").protocol, compile=True)
    assert training_arguments(protocol, seed=0, output_dir=tmp_path).torch_compile is True
    runner = build_runner("tiny-roberta-512")
    tokenizer = runner.build_tokenizer(lambda: ["a b c"] * 10)
    batch = RunnerCollator(tokenizer, runner, bucket=64)([{"input_ids": [5] * 70, "label": 0}])
    assert batch["input_ids"].shape == (1, 128) and batch["attention_mask"].reshape(1, -1).sum() == 70
    longformer = build_runner("tiny-longformer-2048", {"attention_window": 48})
    lengths = RunnerCollator(tokenizer, longformer, bucket=64)([{"input_ids": [5] * 70, "label": 0}])
    assert lengths["input_ids"].shape == (1, 192)  # lcm(48, 64)
