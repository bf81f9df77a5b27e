"""The generic Registry and the runner registry built on it: lookups, suggestions, parameters."""

from __future__ import annotations

import itertools

import pytest

from bench.errors import BenchError
from bench.registry import Registry
from bench.runners import RUNNERS, build_runner
from bench.runners.hf import LongformerRunner, RobertaRunner
from bench.runners.tiny import TinyLongformerRunner, TinyRobertaRunner

LONGFORMERS = [f"longformer-{w}-{n}" for w, n in itertools.product((128, 256, 512), (1024, 2048, 4096))]


def _colours() -> Registry[int]:
    reg: Registry[int] = Registry("colour")
    reg.add("red", 1)
    reg.add("green", 2)
    reg.add("blue", 3)
    return reg


def test_registry_add_get_contains_and_sorted_iteration():
    reg = _colours()

    @reg.register("yellow")
    def make_yellow() -> int:
        return 4

    assert reg.get("green") == 2
    assert reg.get("yellow") is make_yellow
    assert "red" in reg and "purple" not in reg
    assert list(reg) == ["blue", "green", "red", "yellow"]
    assert len(reg) == 4


def test_registering_a_name_twice_raises_and_keeps_the_first():
    reg = _colours()
    with pytest.raises(ValueError, match="colour 'red' is already registered"):
        reg.add("red", 99)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("blue")(object())
    assert reg.get("red") == 1 and len(reg) == 3


def test_unknown_name_suggests_close_matches_and_lists_all():
    with pytest.raises(BenchError) as info:
        _colours().get("blu")
    message = str(info.value)
    assert message.startswith("Unknown colour 'blu'.")
    assert "Did you mean 'blue'?" in message
    assert message.endswith("Available: blue, green, red.")


def test_unknown_name_without_close_match_has_no_suggestion():
    message = _colours().unknown_message("xylophone")
    assert "Did you mean" not in message
    assert "Available: blue, green, red." in message


def test_builtin_runners_are_registered():
    names = set(RUNNERS)
    assert {"roberta-512", *LONGFORMERS} <= names
    assert {"tiny-roberta-128", "tiny-roberta-512", "tiny-longformer-2048"} <= names
    assert RUNNERS.get("roberta-512").cls is RobertaRunner
    assert RUNNERS.get("tiny-roberta-512").cls is TinyRobertaRunner
    assert RUNNERS.get("tiny-longformer-2048").cls is TinyLongformerRunner
    assert all(RUNNERS.get(n).source == "bench" for n in names)


@pytest.mark.parametrize("name", LONGFORMERS)
def test_longformer_names_match_their_window_and_length(name: str):
    runner = build_runner(name)
    window, length = (int(part) for part in name.split("-")[1:])
    assert isinstance(runner, LongformerRunner)
    assert runner.attention_window == window and runner.max_length == length
    assert runner.pad_to_multiple_of == window
    assert runner.model_id == "allenai/longformer-base-4096"


def test_build_runner_applies_overrides_over_registered_params():
    runner = build_runner("tiny-roberta-128", {"hidden_size": 16, "num_layers": 1})
    assert isinstance(runner, TinyRobertaRunner)
    assert (runner.max_length, runner.hidden_size, runner.num_layers) == (128, 16, 1)
    assert build_runner("tiny-roberta-128").hidden_size == 64  # the override did not leak into the registry
    assert build_runner("longformer-512-4096", {"attention_window": 256}).attention_window == 256
    assert build_runner("roberta-512", {"model_id": "/some/folder"}).model_id == "/some/folder"


def test_build_runner_unknown_name_suggests():
    with pytest.raises(BenchError, match=r"Unknown runner 'roberta-51'\. Did you mean 'roberta-512'.*Available: "):
        build_runner("roberta-51")


def test_unknown_runner_parameter_is_named_with_the_runners_parameters():
    with pytest.raises(BenchError) as info:
        build_runner("tiny-roberta-128", {"hidden_sise": 16})
    message = str(info.value)
    assert "runner 'tiny-roberta-128' has no parameter(s) hidden_sise" in message
    assert "its parameters: hidden_size, max_length, num_heads, num_layers, vocab_size" in message


@pytest.mark.parametrize("window", [0, 7, -2, 3.0, True])
@pytest.mark.parametrize("name", ["longformer-128-1024", "tiny-longformer-2048"])
def test_bad_attention_window_is_refused(name: str, window):
    with pytest.raises(BenchError, match=f"attention_window must be a positive even integer, got {window!r}"):
        build_runner(name, {"attention_window": window})


@pytest.mark.parametrize("max_length", [4, 0, "512"])
def test_bad_max_length_is_refused(max_length):
    with pytest.raises(BenchError, match="max_length must be an integer >= 8"):
        build_runner("tiny-roberta-128", {"max_length": max_length})
