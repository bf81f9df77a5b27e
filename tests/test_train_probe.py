"""Batch sizes sized to the device (`auto`): the choice among the divisors of the effective batch, checkpointing
only when nothing fits without it, the CPU's budget, and a run that records what was chosen and why."""

from __future__ import annotations

import json

import pytest

from bench.config import ProtocolConfig
from bench.errors import BenchError
from bench.runners.probe import DoesNotFit, choose, divisors


def allocator(fits: int, fits_checkpointed: int = 0, mb_per_doc: float = 100.0):
    """A fake device: a step of more than `fits` documents (`fits_checkpointed` with checkpointing) runs out of
    memory; a step that fits uses `mb_per_doc` per document."""
    tried = []

    def step(size: int, checkpointing: bool) -> float:
        tried.append((size, checkpointing))
        if size > (fits_checkpointed if checkpointing else fits):
            import torch

            raise torch.OutOfMemoryError("CUDA out of memory (fake)")
        return mb_per_doc * size

    return step, tried


def test_the_largest_divisor_that_fits_is_chosen_without_checkpointing():
    step, tried = allocator(fits=6)
    choice = choose(divisors(32), step, limit_mb=None, estimate=False)
    assert (choice.size, choice.checkpointing) == (4, False)  # 6 is no divisor of 32: 4 x 8 accumulation steps
    assert tried == [(32, False), (16, False), (8, False), (4, False)]
    assert "auto micro-batch 4 without activation checkpointing" in choice.note and "8: out of memory" in choice.note


def test_checkpointing_is_turned_on_only_when_nothing_fits_without_it():
    step, tried = allocator(fits=0, fits_checkpointed=8)
    choice = choose(divisors(32), step, limit_mb=None, estimate=False)
    assert (choice.size, choice.checkpointing) == (8, True)
    assert tried[:6] == [(s, False) for s in (32, 16, 8, 4, 2, 1)]


def test_a_step_over_the_memory_limit_does_not_fit():
    step, _ = allocator(fits=32, mb_per_doc=1000.0)
    choice = choose(divisors(32), step, limit_mb=10_000.0, estimate=False)
    assert choice.size == 8 and "16: 16,000 MB" in choice.note and "8,000 MB of 10,000 MB allowed" in choice.note


def test_on_a_cpu_sizes_are_predicted_from_the_two_smallest_and_never_tried_beyond_the_budget():
    step, tried = allocator(fits=32, mb_per_doc=300.0)
    choice = choose(divisors(32), step, limit_mb=4096.0, estimate=True)
    assert choice.size == 8  # 8 x 300 MB fits 4 GB, 16 x 300 MB does not
    assert tried == [(1, False), (2, False), (8, False)]  # 32 and 16 were never run


def test_nothing_fitting_falls_back_to_the_smallest_with_checkpointing():
    def step(size, checkpointing):
        raise DoesNotFit

    choice = choose([4, 2, 1], step, limit_mb=None, estimate=False)
    assert (choice.size, choice.checkpointing) == (1, True) and "nothing fits" in choice.note


def test_any_other_error_in_a_probe_step_is_raised():
    def step(size, checkpointing):
        raise ValueError("a bug, not memory")

    with pytest.raises(ValueError, match="a bug"):
        choose([2, 1], step, limit_mb=None, estimate=False)


def test_auto_is_a_protocol_value_and_anything_else_is_refused():
    protocol = ProtocolConfig(per_device_batch_size="auto", eval_batch_size="auto", batch_size=24)
    assert protocol.gradient_accumulation_steps is None
    with pytest.raises(BenchError, match="per_device_batch_size must be a positive integer or auto, got 'max'"):
        ProtocolConfig(per_device_batch_size="max")
    with pytest.raises(BenchError, match="gradient_checkpointing must be true or false"):
        ProtocolConfig(gradient_checkpointing="no")


@pytest.mark.slow
def test_a_run_with_auto_batches_records_what_was_chosen(tmp_path):
    """The fake model runs out of memory above 2 documents per training step: auto picks 2 (of the divisors of
    8), keeps the effective batch with 4 accumulation steps, and the record says so."""
    import io

    from bench.launch.sweep import Plan, run_jobs
    from tests.test_launch_sweep_reliability import oom_job

    job = oom_job(tmp_path, fits=2, micro_batch="auto", eval_fits=4)
    job = type(job)(job.suite.replace(protocol=ProtocolConfig(**{**vars(job.suite.protocol), "eval_batch_size": "auto"})),
                    job.runner_name, job.runner, 0, job.store)  # fmt: skip
    (record,) = run_jobs(Plan((job,), ()), out=io.StringIO())
    assert record.status == "ok", record.error
    assert (record.micro_batch_size, record.gradient_accumulation_steps, record.oom_retries) == (2, 4, 0)
    assert record.gradient_checkpointing is False and record.eval_batch_size == 4
    assert "auto micro-batch 2 without activation checkpointing" in record.probe
    assert "auto evaluation batch 4" in record.probe and "on the CPU" in record.probe
    assert record.config["suite"]["protocol"]["per_device_batch_size"] == "auto"


def test_measuring_a_step_keeps_none_of_its_activations_alive():
    """saved_mb counts what autograd saves; none of it may outlive the call (a pack hook that kept the tensors made
    a reference cycle: the probe of imdb-minilm's minilm-512 held 3.9 GB for the rest of the run)."""
    import gc

    import torch

    from bench.runners.probe import saved_mb

    def live_mb() -> float:
        gc.collect()
        return sum(o.numel() * o.element_size() for o in gc.get_objects() if torch.is_tensor(o)) / 2**20

    layer = torch.nn.TransformerEncoderLayer(64, 4, 128, batch_first=True)
    x = torch.randn(8, 256, 64)
    before = live_mb()
    measured = saved_mb(lambda: layer(x).sum())
    assert measured > 10  # the activations of 8 x 256 x 64 through attention and the feed-forward
    assert live_mb() - before < 0.1 * measured


def test_a_cpu_micro_batch_depends_on_the_machine_not_on_the_memory_free_at_the_time(monkeypatch):
    """Two runs of one configuration on one machine, one while it is idle and one while it is nearly full, choose
    the same micro-batch: sized on the memory available, the same key got 8 on one run and 1 on the next, and a
    different training curve (issue 27)."""
    from collections import namedtuple

    import psutil
    import torch
    from datasets import Dataset

    from bench.runners import build_runner
    from bench.runners.probe import CPU_BUDGET_ENV, batch_sizes, cpu_budget_mb

    monkeypatch.delenv(CPU_BUDGET_ENV, raising=False)
    memory = namedtuple("svmem", "total available")
    runner = build_runner("tiny-roberta-128")
    rows = {"input_ids": [[0] + [5 + i % 50] * (20 + i) + [2] for i in range(16)], "label": [i % 2 for i in range(16)]}
    split = Dataset.from_dict({**rows, "length": [len(ids) for ids in rows["input_ids"]]})

    def collate(features):
        width = max(len(f["input_ids"]) for f in features)
        ids = torch.tensor([f["input_ids"] + [1] * (width - len(f["input_ids"])) for f in features])
        return {
            "input_ids": ids,
            "attention_mask": (ids != 1).long(),
            "labels": torch.tensor([f["label"] for f in features]),
        }

    protocol = ProtocolConfig(batch_size=8, per_device_batch_size="auto", eval_batch_size="auto")
    chosen = []
    for available_mb in (100_000, 1):  # idle, then nearly full; the machine has 16 GB either way
        fake = memory(total=16_384 * 2**20, available=available_mb * 2**20)
        monkeypatch.setattr(psutil, "virtual_memory", lambda fake=fake: fake)
        # no cgroup limit below it (raising=False: the function is new)
        monkeypatch.setattr("bench.runners.probe.total_memory_mb", lambda: 16_384.0, raising=False)
        assert cpu_budget_mb() == 4096.0
        resolved, probed = batch_sizes(runner, ["neg", "pos"], split, split, collate, protocol)
        chosen.append((resolved.per_device_batch_size, resolved.gradient_checkpointing, resolved.eval_batch_size))
        assert "within 4,096 MB (half the total memory, at most 4,096 MB)" in probed["probe"]
    assert chosen[0] == chosen[1] == (8, False, 256)


@pytest.mark.parametrize(
    "runner",
    [
        "tiny-roberta-chunks-2048",
        pytest.param("tiny-longformer-2048", marks=pytest.mark.slow),
        pytest.param("tiny-roberta-headtail-512", marks=pytest.mark.slow),
    ],
)
def test_auto_batches_probe_every_kind_of_model(tmp_path, runner: str):
    """The probe steps each kind of model the runners build: the chunk classifier is a plain nn.Module with no
    `.device` (auto failed on it at once, so minilm-chunks-* could not run with the suites' auto batches)."""
    import bench
    from tests.conftest import TINY_SUITE, write_suite

    text = TINY_SUITE.format(n_train=24, n_test=8, epochs=1).replace("runner: tiny-roberta-128", f"runner: {runner}")
    text = text.replace(
        "per_device_batch_size: 8, eval_batch_size: 16", "per_device_batch_size: auto, eval_batch_size: auto"
    )
    bench.run(write_suite(tmp_path / "tiny.yaml", text), results=tmp_path / "results", reports=None)
    (path,) = (tmp_path / "results" / "tiny" / "runs").glob("*/seed0.json")
    record = json.loads(path.read_text())
    assert record["status"] == "ok", record.get("error")
    assert "auto micro-batch" in record["probe"] and "auto evaluation batch" in record["probe"]
