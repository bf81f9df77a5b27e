"""Protocol values a run cannot use are refused when the suite is loaded, in one line, before anything trains: a
learning-rate schedule transformers does not know, a boolean where a number is meant; and the smaller promises of
the commands around them (an `--out` that is a file, one definition of peak GPU memory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.config import COMMON_LR_SCHEDULERS, ProtocolConfig, lr_schedulers
from bench.errors import BenchError
from tests.conftest import TINY_SUITE, write_suite


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def suite_file(tmp_path: Path, protocol: str = "", tune: str = "") -> Path:
    text = TINY_SUITE.format(n_train=40, n_test=10, epochs=1)
    text = text.replace("eval_batch_size: 16}", f"eval_batch_size: 16{protocol}}}")
    return write_suite(tmp_path / "t.yaml", text + tune)


def test_an_unknown_lr_scheduler_is_refused_by_list_and_run_before_any_training(tmp_path: Path):
    """It used to pass `bench list` and fail inside the Trainer, then end with "no results for suite 'tiny' (did you
    mean 'tiny'?)"."""
    path = suite_file(tmp_path, ", lr_scheduler: bogus")
    for command in (["list"], ["run", "--results", "results"]):
        done = bench(*command, "--suite", str(path), cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert done.stderr.startswith("bench: error:") and len(done.stderr.strip().splitlines()) == 1
        assert "lr_scheduler 'bogus' is not a transformers schedule" in done.stderr and "cosine" in done.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "reports").exists()


def test_lr_schedulers_are_the_ones_transformers_knows():
    known = lr_schedulers()
    assert set(COMMON_LR_SCHEDULERS) <= set(known)  # the ones accepted without asking transformers
    for name in known:  # a schedule only a newer transformers has is asked of it, and accepted
        assert ProtocolConfig(lr_scheduler=name).lr_scheduler == name
    with pytest.raises(BenchError, match="Did you mean 'cosine'"):
        ProtocolConfig(lr_scheduler="cosin")


@pytest.mark.parametrize(
    "name", ["learning_rate", "weight_decay", "warmup_ratio", "max_grad_norm", "validation_fraction", "split_seed"]
)
def test_a_boolean_where_a_number_is_meant_is_refused(name: str):
    with pytest.raises(BenchError, match=rf"protocol: {name} must be .*, got True"):
        ProtocolConfig(**{name: True})


def test_a_boolean_in_a_grid_is_refused_when_the_suite_loads(tmp_path: Path):
    from bench.data.suite import load_suite

    with pytest.raises(BenchError, match=r"tune point .*learning_rate.*True.*must be a positive number"):
        load_suite(str(suite_file(tmp_path, tune="tune: {learning_rate: [1.0e-4, true]}\n")))
    with pytest.raises(BenchError, match="weight_decay must be a number"):
        load_suite(str(suite_file(tmp_path, ", weight_decay: yes")))


@pytest.mark.parametrize("command", [["inspect", "--suite", "demo"], ["leaderboard"], ["report", "--suite", "demo"]])
def test_an_out_that_is_a_file_is_one_line_and_exit_2_before_any_work(tmp_path: Path, command: list[str]):
    """It was a traceback, after the work (inspect read and tokenized the data first; report and leaderboard read
    the results and rendered)."""
    from tests.report_fixtures import write_sweep

    write_sweep(tmp_path / "results", "demo")  # results to report on: only the --out is wrong
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    (tmp_path / "taken").write_text("a file\n")
    for out in ("taken", "taken/inside"):
        done = bench(*command, "--out", out, cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert len(done.stderr.strip().splitlines()) == 1 and f"--out {out} is" in done.stderr
        assert done.stdout == ""
    assert (tmp_path / "taken").read_text() == "a file\n"
    assert (
        sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.name != "taken") == before
    )  # nothing written


def test_the_console_shows_the_training_peak_the_report_shows():
    """The console's "peak GPU MB" was the whole run's peak (the test pass included), the report's the training
    peak: one number under two meanings. Both now show the training peak, named alike."""
    from bench.cli.run import format_table
    from bench.data.suite import load_suite
    from bench.report.cost import MEMORY_LABELS
    from bench.results.schema import RunRecord, display_names, fields_of
    from bench.results.store import run_table

    row = {"runner": "r", "seed": 0, "status": "ok", "accuracy": 0.9, "device": "cuda", "model_family": "x"}
    table = run_table([{**row, "peak_gpu_mem_mb": 9000.0, "peak_gpu_mem_train_mb": 7000.0}])
    header, line = format_table(load_suite("demo"), table).splitlines()
    assert "7000" in line and "9000" not in line
    shown = display_names(RunRecord, ["peak_gpu_mem_train_mb"])["peak_gpu_mem_train_mb"]
    assert (
        shown in header
        and shown.startswith("training peak GPU")
        and MEMORY_LABELS["gpu"].startswith("training peak GPU")
    )
    helps = {f.name: f.metadata["help"] for f in fields_of(RunRecord)}
    assert helps["peak_gpu_mem_train_mb"].startswith("training peak GPU memory")
    assert "not the GPU memory bench shows" in helps["peak_gpu_mem_mb"]
