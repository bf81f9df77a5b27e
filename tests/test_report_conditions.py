"""Cost figures under stated conditions (issue 27): the cost table and the verdict flag, next to a cost ratio,
runners measured under other conditions than the baseline (CPU threads, device, machine) or on a busy host."""

from __future__ import annotations

from pathlib import Path

from bench.report import build_report
from tests.report_fixtures import make_record, make_test_set, predict, predictions, prf, write_run

SUITE = "conditions"


def _write(results: Path, runner: str, max_length: int, threads: int | None = None, **fields) -> None:
    labels, n_tokens = make_test_set()
    preds = predict(labels, n_tokens, max_length, 0)
    environment = {"python": "3.11.7", "versions": {}, "git_hash": "abc", "torch_threads": threads}
    record = make_record(SUITE, runner, 0, metrics=prf(labels, preds), max_length=max_length, device="cpu",
                         gpu_mem_mb=None, environment=environment, **fields)  # fmt: skip
    write_run(results, record, predictions(labels, preds, n_tokens))


def _report(tmp_path: Path) -> tuple[str, str]:
    md = build_report(tmp_path / "results", SUITE, out_dir=tmp_path / "report", baseline="base")
    verdict = (tmp_path / "report" / "verdict.md").read_text()
    return md.read_text().replace("\\_", "_"), verdict


def _cost_section(report: str) -> str:
    start = report.index("train time / epoch")
    return report[start : start + 6000]


def test_runners_trained_at_other_thread_counts_are_flagged_next_to_the_ratio(tmp_path: Path):
    # what 65e8abe wrote when a second bench job ran beside the demo: the first runner at 2 threads, then 1 (an
    # older record says so only in environment.torch_threads)
    _write(tmp_path / "results", "base", 512, threads=2)
    _write(tmp_path / "results", "long", 1024, threads=1)
    report, verdict = _report(tmp_path)
    line = next(s for s in verdict.splitlines() if s.startswith("long:"))
    assert "× the training time" in line
    assert "(measured under different conditions: 1 CPU threads vs 2 for base)" in line  # 65e8abe: not a word
    assert "1 CPU threads vs 2 for base" in _cost_section(report)
    assert "Conditions: each run trains on a fixed set of CPUs" in report


def test_a_busy_host_is_flagged_from_the_record(tmp_path: Path):
    _write(tmp_path / "results", "base", 512, cpu_threads=2, cpus="0,1", host_other_cpus=0.05)
    _write(tmp_path / "results", "long", 1024, cpu_threads=2, cpus="0,1", host_other_cpus=1.4, load_avg=3.9)
    report, verdict = _report(tmp_path)
    line = next(s for s in verdict.splitlines() if s.startswith("long:"))
    assert "(measured under different conditions: busy host)" in line
    assert "busy host" in _cost_section(report)


def test_a_run_on_another_machine_is_flagged(tmp_path: Path):
    _write(tmp_path / "results", "base", 512, cpu_threads=2, host="node-a")
    _write(tmp_path / "results", "long", 1024, cpu_threads=2, host="node-b")
    _, verdict = _report(tmp_path)
    assert "on machine node-b vs node-a" in verdict


def test_runners_measured_alike_get_no_flag(tmp_path: Path):
    _write(tmp_path / "results", "base", 512, cpu_threads=2, cpus="0,1", host_other_cpus=0.1, host="node-a")
    _write(tmp_path / "results", "long", 1024, cpu_threads=2, cpus="0,1", host_other_cpus=0.2, host="node-a")
    report, verdict = _report(tmp_path)
    assert "measured under different conditions" not in verdict
    assert "Conditions: each run trains" not in report
