"""`bench profile`: records, table, plots and exponents from real (tiny) measurements; out of memory as a result;
any runner kind (the chunk classifier has no config of its own); the exponent fit; user errors before anything is
written. FLOPs and MFU: tests/test_profile_flops.py."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from bench.cli import main
from bench.host import HostMemory
from bench.profile.child import ProfileJob, measure, synthetic_batch
from bench.report.exponents import describe, exponents, fit_exponent
from bench.runners import RUNNERS, RunnerEntry, build_runner
from bench.runners.hf import RobertaRunner
from bench.runners.tiny import TinyRobertaRunner
from tests.report_fixtures import write_sweep

SMALL = {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "vocab_size": 100}


@dataclass(frozen=True, kw_only=True)
class FaultyTinyRunner(TinyRobertaRunner):
    """A tiny RoBERTa whose forward pass runs out of memory above `oom_above` tokens (as a CUDA allocator would say
    so), and whose worker is killed outright above `kill_above` (as the kernel's OOM killer would)."""

    family: ClassVar[str] = "faulty"
    oom_above: int = 10**9
    kill_above: int = 10**9

    def build_model(self, label_names):
        import torch

        if self.max_length > self.kill_above:
            os.kill(os.getpid(), signal.SIGKILL)
        model = super().build_model(label_names)

        def check(module, args, kwargs):
            if kwargs["input_ids"].shape[1] > self.oom_above:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

        model.register_forward_pre_hook(check, with_kwargs=True)
        return model


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # reports/profile and results/ stay in the sandbox


@pytest.fixture
def fake_runners(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Test runners registered like real ones, for this test only: faulty tiny runners, and a pretrained runner
    whose checkpoint (a config alone) is a local folder with positions for 128 tokens."""
    from transformers import RobertaConfig

    RobertaConfig(max_position_embeddings=130, pad_token_id=1).save_pretrained(tmp_path / "ckpt")
    items = RUNNERS._items
    monkeypatch.setitem(items, "test-oom-above-64", RunnerEntry(FaultyTinyRunner, {**SMALL, "max_length": 512,
                                                                                   "oom_above": 64}))  # fmt: skip
    monkeypatch.setitem(items, "test-killed", RunnerEntry(FaultyTinyRunner, {**SMALL, "max_length": 512,
                                                                            "kill_above": 0}))  # fmt: skip
    monkeypatch.setitem(items, "test-local-roberta", RunnerEntry(RobertaRunner, {"model_id": str(tmp_path / "ckpt"),
                                                                                "max_length": 128}))  # fmt: skip


def call(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def records(results: Path) -> dict[tuple[str, int], dict]:
    out = {}
    for path in (results / "profile").glob("*/*.json"):
        record = json.loads(path.read_text())
        out[record["runner"], record["seq_len"]] = record
    return out


@pytest.mark.slow
def test_profile_writes_records_table_and_plots(fake_runners, tmp_path, capsys):
    results = tmp_path / "results"
    argv = ["profile", "--runners", "tiny-longformer-2048,test-oom-above-64", "--lengths", "64,128"]
    code = call([*argv, "--steps", "1", "--warmup", "0", "--threads", "1", "--results", str(results)])
    out = capsys.readouterr().out
    assert code == 0, out
    found = records(results)
    assert sorted(found) == [("test-oom-above-64", 64), ("test-oom-above-64", 128),
                             ("tiny-longformer-2048", 64), ("tiny-longformer-2048", 128)]  # fmt: skip

    ok = found["tiny-longformer-2048", 128]
    assert ok["status"] == "ok" and ok["mode"] == "train" and ok["batch_size"] == 1
    assert ok["padded_len"] == 128 and ok["s_per_step"] > 0 and ok["tokens_per_s"] > 0
    assert ok["tokens_per_s"] == pytest.approx(128 / ok["s_per_step"])
    assert ok["step_mem_kind"] == "cpu" and ok["step_mem_mb"] is not None and ok["peak_cpu_rss_mb"] > 0
    assert ok["peak_gpu_mem_mb"] is None and ok["gpu_name"] is None  # not measurable without CUDA: missing, not 0
    assert ok["peak_flops_source"].startswith("measured") and 0 < ok["mfu"] < 1
    assert ok["torch_threads"] == 1 and ok["environment"]["versions"]["torch"]

    oom = found["test-oom-above-64", 128]
    assert oom["status"] == "oom" and "OutOfMemoryError" in oom["error"] and oom.get("s_per_step") is None
    assert found["test-oom-above-64", 64]["status"] == "ok"

    table = (results / "profile" / "profile.csv").read_text().splitlines()
    assert table[0].startswith("runner,mode,batch_size,seq_len,status") and len(table) == 5
    assert "scaling exponents" in out and "tiny-longformer-2048 · train · batch 1 · lengths 64–128: memory" in out
    report = Path("reports/profile/report.md").read_text()
    assert "Scaling with sequence length" in report and "oom" in report
    for name in ("profile_memory_vs_length", "profile_throughput_vs_length", "profile_loglog"):
        assert Path(f"reports/profile/plots/{name}.png").stat().st_size > 0


@pytest.mark.slow
def test_random_init_profiles_the_real_architectures_without_the_hub(tmp_path, capsys):
    """The issue's acceptance command, at one short length: no hub, an empty HF_HOME (the tests' own), records under
    <runner>@random-init with the published models' parameter counts."""
    results = tmp_path / "results"
    argv = ["profile", "--random-init", "--runners", "roberta-512,longformer-128-1024", "--lengths", "64"]
    code = call([*argv, "--steps", "1", "--warmup", "0", "--threads", "1", "--results", str(results)])
    out = capsys.readouterr().out
    assert code == 0, out
    found = records(results)
    assert sorted(found) == [("longformer-128-1024@random-init", 64), ("roberta-512@random-init", 64)]
    roberta, longformer = found["roberta-512@random-init", 64], found["longformer-128-1024@random-init", 64]
    assert roberta["status"] == longformer["status"] == "ok" and roberta["init"] == longformer["init"] == "random"
    assert round(roberta["n_params"] / 1e6, 1) == 124.6 and round(longformer["n_params"] / 1e6, 1) == 148.7
    assert roberta["model_id"] == "FacebookAI/roberta-base" and roberta["config"]["runner"]["random_init"] is True
    assert longformer["attention_window"] == 128 and longformer["padded_len"] == 128  # padded to its window
    assert "roberta-512@random-init" in out


@pytest.mark.slow
def test_a_worker_killed_by_the_oom_killer_is_an_oom_record(fake_runners, tmp_path, monkeypatch):
    # the cgroup's OOM-kill counter rises while the worker runs: the kernel's OOM killer sent the SIGKILL
    counts = iter([0, 1])
    monkeypatch.setattr("bench.launch.local.oom_kills", lambda: next(counts))
    results = tmp_path / "results"
    assert call(["profile", "--runners", "test-killed", "--lengths", "32", "--results", str(results)]) == 0
    record = records(results)["test-killed", 32]
    assert record["status"] == "oom" and "SIGKILL from the kernel's out-of-memory killer" in record["error"]


@pytest.mark.slow
def test_a_worker_killed_otherwise_is_a_failed_record(fake_runners, tmp_path, monkeypatch):
    monkeypatch.setattr("bench.launch.local.oom_kills", lambda: 0)  # the counter stays: `kill -9`, not the kernel
    results = tmp_path / "results"
    assert call(["profile", "--runners", "test-killed", "--lengths", "32", "--results", str(results)]) == 1
    record = records(results)["test-killed", 32]
    assert record["status"] == "failed" and "SIGKILL, not from the out-of-memory killer" in record["error"]


@pytest.mark.slow
def test_suite_report_includes_the_profile_section(tmp_path):
    from bench.report import build_report
    from bench.results.store import ResultStore, write_record

    results = tmp_path / "results"
    write_sweep(results, "sweep", seeds=(0,))
    assert "Scaling with sequence length" not in build_report(results, "sweep", tmp_path / "r0").read_text()
    for runner, power in (("full", 2.0), ("windowed", 1.0)):
        for n in (512, 1024, 2048):
            record = {"kind": "profile", "runner": runner, "mode": "train", "batch_size": 1, "seq_len": n,
                      "status": "ok", "s_per_step": (n / 512) ** power, "tokens_per_s": n / (n / 512) ** power,
                      "step_mem_mb": 10 * (n / 512) ** power, "step_mem_kind": "cpu", "device": "cpu"}  # fmt: skip
            write_record(ResultStore(results).profile_record_path(runner, "train", 1, n), record)
    report = build_report(results, "sweep", tmp_path / "r1").read_text()
    assert "Scaling with sequence length" in report
    assert "| full | 512–2,048 | 2.00 about quadratic | 2.00 about quadratic | 3 ok |" in report
    assert "| windowed | 512–2,048 | 1.00 about linear | 1.00 about linear | 3 ok |" in report
    assert (tmp_path / "r1" / "plots" / "profile_loglog.png").exists()


def test_fit_exponent_recovers_power_laws():
    lengths = [512, 1024, 2048, 4096]
    assert fit_exponent(lengths, [3 * n**1.5 for n in lengths]) == pytest.approx(1.5)
    assert fit_exponent(lengths, [7.0] * 4) == pytest.approx(0.0)
    # missing, zero and NaN values are left out; fewer than two lengths is no fit
    assert fit_exponent(lengths, [None, 0.0, 2048.0**2, 4096.0**2]) == pytest.approx(2.0)
    assert fit_exponent(lengths, [None, math.nan, None, 5.0]) is None
    rows = [{"status": "ok", "seq_len": n, "s_per_step": n / 100, "step_mem_mb": n * n} for n in lengths]
    rows.append({"status": "oom", "seq_len": 8192, "s_per_step": None, "step_mem_mb": None})
    fitted = exponents(rows)
    assert fitted["time"] == pytest.approx(1.0) and fitted["memory"] == pytest.approx(2.0)
    assert describe(1.02) == "about linear" and describe(1.98) == "about quadratic" and describe(None)


def test_synthetic_batch_has_exactly_the_length():
    roberta = build_runner("tiny-roberta-512", {"max_length": 100, **SMALL})
    config = roberta.build_model(("0", "1")).config
    batch = synthetic_batch(roberta, config, 100, 3)
    assert batch["input_ids"].shape == (3, 100) and int(batch["attention_mask"].sum()) == 300
    assert (batch["input_ids"][:, 0] == config.bos_token_id).all() and (batch["input_ids"][:, -1] == 2).all()
    assert int(batch["input_ids"][:, 1:-1].min()) > max(config.bos_token_id, config.eos_token_id, config.pad_token_id)
    longformer = build_runner("tiny-longformer-2048", {"max_length": 100, **SMALL})
    batch = synthetic_batch(longformer, longformer.model_config(longformer.build_model(("0", "1"))), 100, 2)
    assert batch["input_ids"].shape == (2, 128)  # padded to a multiple of the window, as its collator does
    assert int(batch["attention_mask"].sum()) == 200 and "global_attention_mask" in batch


def test_measure_profiles_a_chunked_runner(tmp_path):
    """The chunk classifier is a plain nn.Module without .config: the profiler asks the runner for the encoder's
    config and shape. FLOPs count each token attending within its chunk of 32."""
    runner = build_runner("tiny-roberta-chunks-2048", {"max_length": 128, "chunk_length": 32, **SMALL})
    job = ProfileJob("tiny-roberta-chunks-2048", runner, 128, "train", 2, 1, 0, tmp_path / "r.json", threads=1)
    metrics = measure(job)
    assert metrics["padded_len"] == 128 and metrics["s_per_step"] > 0 and 0 < metrics["mfu"] < 1
    dense = 1 * (4 * 16 * 16 + 2 * 16 * 32)  # SMALL: one layer, 16 wide, feed-forward 32
    assert metrics["dense_params"] == dense and metrics["flops_per_token"] == 6 * dense + 12 * 16 * 32
    assert metrics["attn_implementation"] == "sdpa"


def test_a_chunked_runner_is_profiled_below_its_chunk_length():
    # `bench profile` builds the runner at each length: one below the chunk is one chunk of that length
    runner = build_runner("tiny-roberta-chunks-2048", {"max_length": 256})
    assert (runner.chunk_length, runner.n_chunks, runner.params()["chunk_length"]) == (256, 1, 256)
    assert build_runner("tiny-roberta-chunks-2048", {"max_length": 1024}).chunk_length == 512


@pytest.mark.slow
def test_plain_profile_measures_every_demo_runner_kind(tmp_path, capsys):
    results = tmp_path / "results"
    argv = ["profile", "--runners", "tiny-roberta-chunks-2048,tiny-longformer-2048", "--lengths", "256,512"]
    assert call([*argv, "--steps", "1", "--warmup", "0", "--threads", "1", "--results", str(results)]) == 0
    found = records(results)
    assert len(found) == 4 and {r["status"] for r in found.values()} == {"ok"}, capsys.readouterr().out
    dense = 2 * (4 * 64 * 64 + 2 * 64 * 128)  # the registered tiny sizes: 2 layers, 64 wide, feed-forward 128
    assert found["tiny-roberta-chunks-2048", 512]["flops_per_token"] == 6 * dense + 12 * 64 * 2 * 512
    assert found["tiny-roberta-chunks-2048", 256]["flops_per_token"] == 6 * dense + 12 * 64 * 2 * 256


def test_host_memory_sees_an_allocation():
    with HostMemory() as host:
        block = bytearray(64 * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page
    del block
    if host.delta_mb is None:
        pytest.skip("/proc/self/clear_refs is not writable here")
    assert host.delta_mb >= 60


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runners", "tiny-robrta-512"], "Unknown runner 'tiny-robrta-512'. Did you mean 'tiny-roberta-512'"),
        (["--lengths", "0,512"], "expected comma-separated positive token counts"),
        (["--lengths", "abc"], "expected comma-separated positive token counts"),
        (["--lengths", "4"], "max_length must be an integer >= 8"),
        (["--runners", "test-local-roberta", "--lengths", "64,256"], "has positions for 128 tokens; length(s) 256"),
        (["--batch-size", "0"], "expected an integer >= 1"),
        (["--runners", "roberta-512", "--lengths", "64"], "or measure its architecture with --random-init"),
        (["--random-init", "--runners", "longformer-512-4096", "--lengths", "8192"], "positions for 4096 tokens"),
    ],
)
def test_user_errors_are_one_line_and_write_nothing(fake_runners, tmp_path, capsys, args, message):
    results = tmp_path / "results"
    assert call(["profile", *args, "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bench: error: ") and message in err, err
    assert not results.exists() and not Path("reports").exists()


def test_profile_help_is_instant_and_has_examples():
    # `bench --help` must not import torch: the profile subcommand is registered without its worker
    code = "import sys, bench.cli; bench.cli.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    with pytest.raises(SystemExit):
        main(["profile", "--help"])


@pytest.mark.slow
def test_batch_size_auto_measures_at_the_largest_batch_that_fits(tmp_path):
    """The default on a GPU (a step at batch 1 there is launch overhead): the fake model runs out of memory above
    2 documents per training step, so auto measures at 2 and says how it chose."""
    from bench.profile.child import ProfileJob, measure
    from tests.fakes import OutOfMemoryAboveRunner

    runner = OutOfMemoryAboveRunner(max_length=64, hidden_size=16, num_layers=1, vocab_size=100, fits=2)
    measured = measure(ProfileJob("oom-fake", runner, 64, "train", "auto", 1, 0, tmp_path / "r.json", threads=1))
    assert measured["batch_size"] == 2 and measured["samples_per_s"] > 0
    assert "auto batch 2" in measured["batch_probe"] and "4: out of memory" in measured["batch_probe"]
