"""Decoder classifiers with LoRA: the bundled Qwen3-0.6B and Llama-3.2-1B architectures, last-token pooling under
padding, which parameters train, gradient checkpointing through peft, the error without peft, and a tiny decoder
fine-tuned on the demo suite."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from bench.errors import BenchError
from bench.runners import build_runner, run_name
from bench.runners.architectures import architecture
from bench.runners.lora import ALL_LINEAR, LoraNotInstalled
from bench.runners.shapes import Causal

NEEDS_PEFT = pytest.mark.skipif(importlib.util.find_spec("peft") is None, reason="needs peft: pip install -e '.[lora]'")

LABELS = ["negative", "positive"]


def test_qwen3_and_llama_have_their_published_shapes():
    q = architecture("Qwen/Qwen3-0.6B").config
    assert (q["num_hidden_layers"], q["hidden_size"], q["intermediate_size"], q["vocab_size"]) == (
        28,
        1024,
        3072,
        151936,
    )
    assert (q["num_attention_heads"], q["num_key_value_heads"], q["head_dim"]) == (16, 8, 128)
    assert (q["rope_theta"], q["max_position_embeddings"], q["tie_word_embeddings"]) == (1000000, 40960, True)
    lm = architecture("meta-llama/Llama-3.2-1B").config
    assert (lm["num_hidden_layers"], lm["hidden_size"], lm["intermediate_size"], lm["vocab_size"]) == (
        16,
        2048,
        8192,
        128256,
    )
    assert (lm["num_attention_heads"], lm["num_key_value_heads"], lm["head_dim"]) == (32, 8, 64)
    assert (lm["rope_theta"], lm["max_position_embeddings"], lm["tie_word_embeddings"]) == (500000.0, 131072, True)
    assert lm["rope_scaling"]["rope_type"] == "llama3" and lm["rope_scaling"]["factor"] == 32.0


@pytest.mark.parametrize(("name", "dense"), [("qwen3-0.6b-lora", 440_401_920), ("llama-3.2-1b-lora", 973_078_528)])
def test_decoder_shapes_count_grouped_query_attention_and_the_gated_ffn(name, dense):
    runner = build_runner(name, random_init=True)
    shape = runner.model_shape(runner.architecture_config())
    # Qwen3-0.6B per layer: Q and O 1024 x 16·128, K and V 1024 x 8·128, gate/up/down 1024 x 3072
    # Llama-3.2-1B per layer: Q and O 2048 x 32·64, K and V 2048 x 8·64, gate/up/down 2048 x 8192
    assert shape.dense_params == dense and shape.gated_ffn
    assert all(isinstance(a, Causal) for a in shape.attention) and shape.attention_keys(2048) == shape.n_layers * 1024.5
    assert run_name(name, runner) == f"{name}@random-init"


@NEEDS_PEFT
def test_random_init_decoder_builds_offline_with_its_pad_token(monkeypatch):
    # the real architecture at 1 layer: the same code path as the 0.6B model, in a fraction of its memory
    runner = build_runner("qwen3-0.6b-lora", {"max_length": 64}, random_init=True)
    monkeypatch.setattr(type(runner), "config_overrides", lambda self: {"num_hidden_layers": 1})
    model = runner.build_model(LABELS)
    assert model.config.pad_token_id == 151643 and model.config.model_type == "qwen3"
    tokenizer = runner.build_tokenizer(lambda: ["a few words of training text"] * 20)
    assert tokenizer.pad_token_id == model.config.pad_token_id and tokenizer.eos_token_id == 151645
    assert runner.encode([500, 501], tokenizer) == [500, 501, 151645]  # no bos in Qwen3: ids, then <|im_end|>


def test_llama_pads_with_eos():
    runner = build_runner("llama-3.2-1b-lora", random_init=True)
    assert runner.pad_token_id == 128001 == architecture(runner.model_id).config["eos_token_id"]


@pytest.fixture(scope="module")
def tiny():
    runner = build_runner("tiny-decoder-lora", {"vocab_size": 300})
    tokenizer = runner.build_tokenizer(lambda: [f"word{i % 50} other{i % 7} text" for i in range(200)])
    torch.manual_seed(0)
    return runner, tokenizer, runner.build_model(LABELS)


@NEEDS_PEFT
def test_only_adapters_and_head_train(tiny):
    runner, _, model = tiny
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or ".score." in n for n in trainable), trainable
    assert any(".score." in n for n in trainable)  # the head in full (modules_to_save)
    adapted = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in trainable if "lora_" in n}
    assert adapted == set(ALL_LINEAR)
    facts = runner.run_facts(model)
    assert facts["lora_r"] == 4 and facts["lora_alpha"] == 8 and facts["lora_target_modules"] == list(ALL_LINEAR)
    assert facts["trainable_params"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert 0 < facts["trainable_params"] < 0.5 * sum(p.numel() for p in model.parameters())
    shape = runner.model_shape(runner.model_config(model))  # the peft wrapper's base config
    assert shape.q_width == 64 and shape.k_width == 32  # 4 heads and 2 kv heads of 16


@NEEDS_PEFT
def test_right_padding_leaves_each_documents_logits_unchanged(tiny):
    runner, tokenizer, model = tiny
    from bench.train.encoding import RunnerCollator

    model.eval()
    docs = [runner.encode(list(range(10, 10 + n)), tokenizer) for n in (5, 12, 30)]
    batch = RunnerCollator(tokenizer, runner)([{"input_ids": d, "label": 0} for d in docs])
    assert (batch["input_ids"] == tokenizer.pad_token_id).any()  # padded on the right
    with torch.no_grad():
        padded = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        alone = torch.cat([model(input_ids=torch.tensor([d])).logits for d in docs])
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(alone[0], alone[1])  # the pooled token differs per document


@NEEDS_PEFT
def test_gradient_checkpointing_reaches_the_adapters(tiny):
    _, _, model = tiny
    model.train()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": True})
    try:
        ids = torch.randint(5, 300, (2, 24), generator=torch.Generator().manual_seed(0))
        model(input_ids=ids, labels=torch.tensor([0, 1])).loss.backward()
        grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
        assert all(g is not None for n, g in grads.items() if "lora_B" in n)  # B gets a gradient through the recompute
    finally:
        model.gradient_checkpointing_disable()
        model.zero_grad(set_to_none=True)


def test_lora_runner_without_peft_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "peft", None)  # find_spec then reports it missing
    runner = build_runner("tiny-decoder-lora")
    with pytest.raises(LoraNotInstalled, match=r"pip install -e '\.\[lora\]'") as err:
        runner.build_model(LABELS)
    assert "\n" not in str(err.value)
    with pytest.raises(LoraNotInstalled):
        build_runner("qwen3-0.6b-lora", random_init=True).check_supported()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lora_r": 0}, "lora_r must be an integer >= 1"),
        ({"lora_dropout": 1.5}, "lora_dropout must be a number in"),
        ({"lora_target_modules": []}, "lora_target_modules must be a list"),
    ],
)
def test_bad_lora_parameters_are_refused(params, message):
    with pytest.raises(BenchError, match=message):
        build_runner("tiny-decoder-lora", params)


@NEEDS_PEFT
def test_unknown_target_module_is_named():
    with pytest.raises(BenchError, match="lora_target_modules query are not modules"):
        build_runner("tiny-decoder-lora", {"lora_target_modules": ["q_proj", "query"]}).build_model(LABELS)


def test_yaml_list_of_targets_is_kept_as_a_tuple():
    runner = build_runner("tiny-decoder-lora", {"lora_target_modules": ["q_proj", "v_proj"]})
    assert runner.lora_target_modules == ("q_proj", "v_proj") and hash(runner)


@NEEDS_PEFT
@pytest.mark.slow
def test_tiny_lora_decoder_fine_tunes_on_the_demo_suite(tmp_path: Path):
    from bench.data import load_suite_data
    from bench.data.suite import load_suite
    from bench.train import train_and_evaluate

    suite = load_suite("demo", {"data.synthetic.n_train": 80, "data.synthetic.n_test": 40, "protocol.epochs": 2})
    data = load_suite_data(suite)
    runner = build_runner("tiny-decoder-lora", {"max_length": 128, "vocab_size": 500, "lora_r": 8})
    metrics, predictions = train_and_evaluate(runner, data, suite.protocol, 0, tmp_path / "run")
    assert len(predictions) == len(data.splits["test"])
    assert 0.0 <= metrics["accuracy"] <= 1.0
    losses = [e["train_loss"] for e in metrics["epochs"]]
    assert len(losses) == 2 and all(loss > 0 for loss in losses)
    assert losses[-1] < losses[0]  # the adapters and head learn
    facts = metrics["facts"]  # the record carries them (flattened into the run record)
    assert facts["lora_r"] == 8 and facts["trainable_params"] > 0
