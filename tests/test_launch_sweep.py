"""`bench run` end to end: runs in worker processes, records, predictions, the table, skipping finished runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.test_results_store import REQUIRED

pytestmark = pytest.mark.slow


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_bench_run_writes_records_and_skips_finished_runs(tiny_suite_file: Path, tmp_path: Path):
    results = tmp_path / "results"
    first = bench("run", "--suite", str(tiny_suite_file), "--results", str(results), "--seeds", "0,1", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "[run 1/2] tiny-roberta-128 · seed 0 · cpu" in first.stdout and "[run 2/2]" in first.stdout

    # the console: one start line, one compact line per epoch, the result with the sweep's progress; no raw
    # Trainer dicts, warnings or progress bars (stdout is not a terminal here)
    console = first.stdout + first.stderr
    assert "{'loss'" not in console and "eval_accuracy" not in console and "it/s" not in console
    assert re.search(r"^  epoch 1/2 · train loss \d\.\d{4} · val accuracy \d\.\d{4} · .* left$", first.stdout, re.M)
    assert re.search(r"^\[run 1/2\] done: accuracy .* · sweep: 1/2 runs done · .* elapsed · about .* left$",
                     first.stdout, re.M)  # fmt: skip

    runs = results / "tiny" / "runs" / "tiny-roberta-128"
    # ... while each run's log, beside its record, holds the Trainer's log lines
    log = (runs / "seed1.log").read_text()
    assert "{'loss'" in log and "'eval_accuracy'" in log and "train_runtime" in log
    assert "[run 2/2] tiny-roberta-128 · seed 1" in log and "epoch 2/2 · train loss" in log
    record = json.loads((runs / "seed1.json").read_text())
    assert record["status"] == "ok" and record["seed"] == 1 and record["suite"] == "tiny"
    assert record["device"] == "cpu" and record["peak_gpu_mem_mb"] is None and record["gpu_name"] is None
    assert record["peak_cpu_rss_mb"] > 0 and record["wall_s"] > 0 and record["n_params"] > 0
    assert record["label_names"] == ["negative", "positive"]
    assert record["config"]["runner"]["hidden_size"] == 16
    assert record["config"]["suite"]["protocol"]["batch_size"] == 8
    assert set(record["environment"]["versions"]) >= {"torch", "transformers", "datasets"}
    assert record["best_epoch"] in (1, 2) and len(record["epochs"]) == 2

    predictions = pd.read_csv(runs / "seed1.predictions.csv")
    assert list(predictions.columns) == ["id", "label", "pred", "score", "n_tokens"]
    assert len(predictions) == 20 and predictions["id"].is_unique

    table = pd.read_csv(results / "tiny" / "results.csv")
    assert set(REQUIRED) <= set(table.columns)
    assert table[["runner", "seed", "status"]].values.tolist() == [
        ["tiny-roberta-128", 0, "ok"],
        ["tiny-roberta-128", 1, "ok"],
    ]
    assert "accuracy" in first.stdout and "peak CPU RSS MB" in first.stdout

    again = bench("run", "--suite", str(tiny_suite_file), "--results", str(results), "--seeds", "0,1", cwd=tmp_path)
    assert again.returncode == 0 and "skipping 2 finished run(s)" in again.stdout and "[run 1/" not in again.stdout
    assert json.loads((runs / "seed1.json").read_text())["finished_at"] == record["finished_at"]

    redo = bench(
        "run", "--suite", str(tiny_suite_file), "--results", str(results), "--seeds", "1", "--overwrite", "--verbose",
        cwd=tmp_path,
    )  # fmt: skip
    assert redo.returncode == 0 and "[run 1/1] tiny-roberta-128 · seed 1" in redo.stdout
    # --verbose echoes the log: the Trainer's dicts are back on the console; --overwrite started a fresh log
    assert "{'loss'" in redo.stdout and "'eval_accuracy'" in redo.stdout
    assert (runs / "seed1.log").read_text().count("====") == 2


def test_imdb_suite_runs_offline_on_the_local_copy(imdb_dir: Path, tmp_path: Path):
    results = tmp_path / "results"
    args = ["--suite", "imdb", "--data-dir", str(imdb_dir), "--runners", "tiny-roberta-128", "--limit", "100"]
    done = bench("run", *args, "--epochs", "1", "--results", str(results), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((results / "imdb" / "runs" / "tiny-roberta-128" / "seed0.json").read_text())
    assert record["status"] == "ok" and (record["n_train"], record["n_val"]) == (90, 10)
    assert record["label_names"] == ["neg", "pos"] and record["n_test"] == 100
    assert (results / "imdb" / "results.csv").exists()


def test_a_crashing_run_becomes_a_failed_record(tiny_suite_file: Path, tmp_path: Path):
    results = tmp_path / "results"
    # 3 heads do not divide a hidden size of 16: the model cannot be built, inside the worker
    bad = tmp_path / "bad.yaml"
    bad.write_text(tiny_suite_file.read_text().replace("num_layers: 1", "num_layers: 1, num_heads: 3"))
    done = bench("run", "--suite", str(bad), "--results", str(results), cwd=tmp_path)
    assert done.returncode == 1
    record = json.loads((results / "tiny" / "runs" / "tiny-roberta-128" / "seed0.json").read_text())
    assert record["status"] == "failed" and record.get("accuracy") is None
    assert "divisible" in record["error"] or "multiple" in record["error"]
    # the console says what went wrong in one line and where the whole story is; the log has the traceback
    log = results / "tiny" / "runs" / "tiny-roberta-128" / "seed0.log"
    assert f"[run 1/1] failed: {record['error']} · log: {log}" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr and "Traceback" in log.read_text()
    assert pd.read_csv(results / "tiny" / "results.csv")["status"].tolist() == ["failed"]
