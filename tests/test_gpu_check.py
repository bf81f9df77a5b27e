"""The GPU check (benchmarks/gpu_check.sh) and its CPU rehearsal: the rehearsal runs every step and writes a whole
page and JSON file labelled REHEARSAL; a GPU step broken (here: a pretend GPU whose memory nothing fits in) fails it
with a FAIL line naming the step; without --rehearse a CPU is refused. Also the pretend GPU's allocator and the
page's judging, on their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_IMDB

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
sys.path.insert(0, str(ROOT / "benchmarks"))


def run_check(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "OUT": str(tmp_path / "out"), **env}
    environ.pop("BENCH_GPU_REHEARSAL", None)  # the check sets it for its own pytest step only
    return subprocess.run(
        ["bash", str(SCRIPT), *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=1200
    )


def test_without_a_gpu_the_real_check_refuses_in_one_line_and_writes_nothing(tmp_path: Path):
    done = run_check(tmp_path, str(SHARED_IMDB), str(tmp_path / "results"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "gpu_check: no CUDA device here; this check measures a GPU: run it on a machine with one, or rehearse it "
        "on this CPU with --rehearse"
    ]
    assert not (tmp_path / "out").exists() and not (tmp_path / "results").exists()


@pytest.mark.slow
def test_the_rehearsal_runs_every_step_and_writes_a_whole_page_labelled_rehearsal(tmp_path: Path):
    done = run_check(tmp_path, "--rehearse", str(SHARED_IMDB), str(tmp_path / "results"))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    page, data = (tmp_path / "out" / "gpu-check.md"), json.loads((tmp_path / "out" / "gpu-check.json").read_text())
    assert f"gpu_check wrote {page} and {tmp_path / 'out' / 'gpu-check.json'}" in output
    text = page.read_text()
    assert text.startswith("# GPU check: REHEARSAL on a CPU (no figure here is a GPU measurement)")
    assert data["label"] == "REHEARSAL" and data["rehearsal"] is True and data["passed"] is True
    env = data["environment"]
    assert env["device"].startswith("CPU (REHEARSAL") and env["torch"] and env["transformers"] and env["git_commit"]
    imdb = (SHARED_IMDB / "train.jsonl.gz").exists()
    statuses = [s["status"] for s in data["steps"]]
    assert statuses == ["ok"] * 4 + ["ok" if imdb else "skipped"], data["steps"]
    assert "FAIL" not in output
    # every goal has its row, none judged; a figure is either a CPU's or a pretend GPU's, never presented as a GPU's
    assert [g["judged"] for g in data["goals"]] == [False] * 4
    for goal in data["goals"]:
        assert f"| {goal['goal']} | {goal['target']} | {goal['shown']} |" in text
        assert goal["source"] is None or "GPU" not in goal["source"] or "fake GPU" in goal["source"]
    assert all(f["source"] != "GPU" for f in data["figures"].values())
    by_goal = {g["goal"].split(":")[0]: g for g in data["goals"]}
    mfu = by_goal["RoBERTa-base at 512 tokens, bf16, on an H100/H200"]
    assert "fake GPU" in mfu["source"] and 0 < mfu["value"] < 1 and mfu["result"] == "MISSED"
    assert by_goal["host syncs in steady-state training steps"]["value"] == "none"
    memory = by_goal["evaluation memory peak below training's (eval MB / training MB)"]
    assert memory["result"] == "met" and all(e < t for e, t in memory["value"].values())
    figures = data["figures"]
    probe = figures["tiny-roberta-512 on the pretend GPU: auto micro-batch (real-step search, 12 MB)"]
    assert "did not fit" in probe["probe"] and "on the GPU" in probe["probe"]  # the search met a size over the limit
    assert figures["tiny-roberta-512 on the pretend GPU: bound"]["value"] in ("host", "device")
    assert figures["tiny-roberta-512 on the pretend GPU: GPU time of the timed steps (s, CUDA events)"]["value"] > 0
    assert figures["modernbert: attention kernels auto chose / the model was built with"]["value"][0] in (
        "flash_attention_2",
        "flex_attention",
    )
    if imdb:
        assert by_goal["MiniLM-128"]["value"] > 0 and by_goal["MiniLM-128"]["source"] == "CPU (rehearsal run)"
    assert "REHEARSAL: not judged (would read" in text and "| GPU |" not in text


@pytest.mark.slow
def test_a_broken_gpu_step_fails_the_rehearsal_and_names_the_step(tmp_path: Path):
    """The pretend GPU is given 1 MB: no batch of the profiler's GPU branch fits, as on a device whose probe or
    memory accounting broke; the step must FAIL, by name, with a non-zero exit, and the page must say so."""
    done = run_check(
        tmp_path, "--rehearse", "--steps", "3", str(SHARED_IMDB), str(tmp_path / "r"), BENCH_GPU_CHECK_FAKE_MB="1"
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-4000:]
    fail_lines = [line for line in output.splitlines() if line.startswith("FAIL ")]
    assert len(fail_lines) == 1 and fail_lines[0].startswith("FAIL 3. bench profile: ")
    assert "out of memory" in fail_lines[0].lower()
    data = json.loads((tmp_path / "out" / "gpu-check.json").read_text())
    assert data["passed"] is False and [s["status"] for s in data["steps"]] == ["FAIL"]
    assert (
        "| 3. bench profile: wall and GPU time per step, MFU and HFU | FAIL |"
        in (tmp_path / "out" / "gpu-check.md").read_text()
    )


def test_the_pretend_gpu_counts_live_storage_and_runs_out_of_memory_at_its_limit():
    import torch
    from gpu_fakes import fake_cuda

    from bench.host import is_out_of_memory

    with fake_cuda(total_mb=2) as allocator:
        assert torch.cuda.is_available() and torch.cuda.get_device_properties(0).total_memory == 2 * 2**20
        x = torch.ones(2**18)  # 1 MB of float32
        view = x[: 2**17]  # a view allocates nothing
        assert allocator.live == 2**20 and torch.cuda.max_memory_allocated() == 2**20
        del x, view
        assert allocator.live == 0 and allocator.peak == 2**20  # freed; the peak stays until a reset
        torch.cuda.reset_peak_memory_stats()
        assert torch.cuda.max_memory_allocated() == 0
        moved = torch.zeros(4).to("cuda")  # stays on the CPU
        assert moved.device.type == "cpu"
        with pytest.raises(torch.OutOfMemoryError) as err:
            torch.ones(2**20)  # 4 MB
        assert is_out_of_memory(err.value)
    assert not torch.cuda.is_available()  # gone after the block


def test_a_figure_that_was_not_measured_is_missing_never_zero_and_never_met():
    from gpu_page import GOALS, NOT_MEASURED, goal_figure, judge

    h100 = "NVIDIA H100 80GB HBM3"
    mfu, minilm, sync, memory = GOALS
    assert judge(mfu, None, h100) == NOT_MEASURED
    assert judge(mfu, 0.41, h100) == "met" and judge(mfu, 0.39, h100) == "MISSED"
    assert judge(mfu, 0.5, "NVIDIA A100-SXM4-80GB").startswith("not judged")
    assert judge(minilm, 3000.0, h100) == "met" and judge(sync, "none", h100) == "met"
    # one run's memory pair missing: the goal is not measured, not met on the others
    figures = {
        "a: eval / training memory peak (MB)": {"value": [1.0, 2.0], "source": "GPU"},
        "b: eval / training memory peak (MB)": {"value": None, "source": "GPU"},
    }
    assert goal_figure(memory, figures) == (None, "GPU")
    figures["b: eval / training memory peak (MB)"]["value"] = [3.0, 2.0]
    value, _ = goal_figure(memory, figures)
    assert judge(memory, value, h100) == "MISSED"


def test_a_record_figure_missing_from_its_table_is_not_measured():
    """A record without GPU memory peaks reads as NaN in bench.load_results' table: the goal is not measured, not
    MISSED (NaN < NaN is false)."""
    from pathlib import Path as P

    from gpu_check import Check, Plan
    from gpu_page import GOALS, NOT_MEASURED, goal_figure, judge
    from gpu_steps import _eval_below_train

    check = Check(Plan.make(False, P("r"), P("imdb")))
    _eval_below_train(check, "roberta-512@random-init", float("nan"), float("nan"), "GPU")
    memory = GOALS[3]
    value, source = goal_figure(memory, check.figures)
    assert (value, source) == (None, "GPU") and judge(memory, value, "NVIDIA H100 80GB HBM3") == NOT_MEASURED
