"""One run on several processes (torch's elastic launcher, gloo on CPU): the suite's effective batch, one record with
`world_size`, every test prediction in the order of a one-process run, and out of memory on a rank retried."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main
from bench.config import ProtocolConfig
from bench.data.suite import load_suite
from bench.errors import BenchError
from bench.launch.sweep import Plan, run_jobs
from bench.runners import build_runner
from bench.train.distributed import Distributed
from bench.train.job import Job, smaller_micro_batch
from tests.conftest import TINY_SUITE, write_suite
from tests.fakes import OutOfMemoryAboveRunner


def test_the_processes_must_make_up_the_effective_batch_exactly():
    Distributed(2).check(ProtocolConfig(batch_size=8, per_device_batch_size=4))
    with pytest.raises(BenchError, match="batch_size 8 is not a multiple of per_device_batch_size 8 x 2"):
        Distributed(2).check(ProtocolConfig(batch_size=8, per_device_batch_size=8))
    with pytest.raises(BenchError, match="--rdzv-endpoint"):
        Distributed(2, nnodes=2)


def test_bench_run_refuses_a_batch_the_processes_cannot_divide(tiny_suite_file: Path, tmp_path: Path, capsys):
    results = tmp_path / "results"
    code = main(["run", "--suite", str(tiny_suite_file), "--results", str(results), "--nproc-per-node", "3"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("bench: error: the suite's batch_size 8")
    assert not results.exists()


@pytest.mark.parametrize(
    ("batch", "micro", "world", "expected"), [(32, 8, 2, 4), (8, 4, 2, 2), (8, 2, 4, 1), (8, 1, 2, None)]
)
def test_a_smaller_micro_batch_keeps_the_effective_batch_over_the_processes(batch, micro, world, expected):
    assert smaller_micro_batch(ProtocolConfig(batch_size=batch, per_device_batch_size=micro), world) == expected


@pytest.mark.slow
def test_two_ranks_write_one_record_with_every_prediction_in_order_and_retry_out_of_memory(tmp_path: Path):
    text = TINY_SUITE.format(n_train=60, n_test=40, epochs=1).replace(
        "per_device_batch_size: 8", "per_device_batch_size: 4"
    )
    suite = load_suite(str(write_suite(tmp_path / "tiny.yaml", text)))
    runner_params = {"max_length": 128, "hidden_size": 16, "num_layers": 1, "vocab_size": 200}

    alone = Job(suite, "one-process", build_runner("tiny-roberta-128", runner_params), 0, tmp_path / "results")
    (record,) = run_jobs(Plan((alone,), ()))
    assert record.status == "ok" and record.world_size == 1
    one = pd.read_csv(alone.record_path.with_name("seed0.predictions.csv"))

    # each rank trains micro-batches of 4, which "run out of memory" above 2: both ranks fail, the run is retried
    # with micro-batches of 2 and 2 accumulation steps (2 x 2 ranks x 2 = the suite's 8)
    runner = OutOfMemoryAboveRunner(**runner_params, fits=2)
    job = Job(suite, "two-ranks", runner, 0, tmp_path / "results", distributed=Distributed(nproc_per_node=2))
    out = io.StringIO()
    (record,) = run_jobs(Plan((job,), ()), out=out)
    assert record.status == "ok", record.error
    assert "retrying with micro-batch 2 x 2 accumulation steps (effective batch 8, unchanged)" in out.getvalue()
    assert (record.world_size, record.micro_batch_size, record.gradient_accumulation_steps) == (2, 2, 2)
    assert record.oom_retries == 1 and record.host and record.n_test == 40
    # tokens of both ranks are counted: one epoch of 54 documents, the warm-up steps of each rank left out
    assert record.train_tokens_per_s > 0 and record.train_samples_per_s * record.train_s <= 54

    two = pd.read_csv(job.record_path.with_name("seed0.predictions.csv"))
    assert two["id"].tolist() == one["id"].tolist()  # all 40, each once, in the one-process run's order
    assert two["label"].tolist() == one["label"].tolist() and two["id"].is_unique
    runs = sorted(p.name for p in job.record_path.parent.iterdir())
    assert runs == ["seed0.json", "seed0.lock", "seed0.log", "seed0.predictions.csv"]  # no rank left anything else
