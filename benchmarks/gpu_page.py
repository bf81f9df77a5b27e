"""The GPU check's one page (gpu-check.md) and its JSON twin (gpu-check.json): the device, driver, library versions
and commit, each goal's figure beside it with met / MISSED / not measured, every step's status, every figure with
where it came from. A rehearsal's page says REHEARSAL at the top and on every goal: its figures are a CPU's or a
pretend GPU's, never a GPU's."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NOT_MEASURED = "not measured"
MET, MISSED = "met", "MISSED"
REHEARSAL = "REHEARSAL"
FAKE_DEVICE = "NVIDIA H100 80GB HBM3 (REHEARSAL FAKE)"  # gpu_fakes.FAKE_NAME (this module imports no torch)


@dataclass(frozen=True)
class Goal:
    key: str  # the figure whose value is judged (a prefix of the figure's name; the last such figure counts)
    what: str
    target: str
    passes: Callable[[Any], bool]
    shown: Callable[[Any], str]


def _pct(v: Any) -> str:
    return f"{v:.1%}" if v >= 0.001 else f"{v:.2e} (under 0.1%)"


def _eval_pairs(v: dict[str, Any]) -> bool:
    return all(eval_mb < train_mb for eval_mb, train_mb in v.values())


GOALS = (
    Goal("MFU", "RoBERTa-base at 512 tokens, bf16, on an H100/H200: MFU", ">= 40%", lambda v: v >= 0.40, _pct),
    Goal(
        "minilm-128 training samples/s",
        "MiniLM-128: training samples/s",
        ">= 3,000",
        lambda v: v >= 3000,
        lambda v: f"{v:,.0f}",
    ),
    Goal(
        "host syncs in steady-state training steps",
        "host syncs in steady-state training steps",
        "none",
        lambda v: v == "none",
        str,
    ),
    Goal(
        "eval / training memory",
        "evaluation memory peak below training's (eval MB / training MB)",
        "every run",
        _eval_pairs,
        lambda v: "; ".join(f"{k}: {e:,.0f} / {t:,.0f}" for k, (e, t) in v.items()),
    ),
)


def goal_figure(goal: Goal, figures: dict[str, dict[str, Any]]) -> tuple[Any, str | None]:
    """The value a goal is judged on, and its source; the eval-memory goal gathers every run's pair (a run whose
    pair is missing leaves the goal not measured, never met)."""
    if goal.key == "eval / training memory":
        pairs = {k.split(":")[0]: f["value"] for k, f in figures.items() if goal.key in k}
        sources = {f["source"] for k, f in figures.items() if goal.key in k}
        if not pairs or any(v is None for v in pairs.values()):
            return None, ", ".join(sorted(sources)) or None
        return pairs, ", ".join(sorted(sources))
    matching = [f for k, f in figures.items() if goal.key in k]
    if goal.key == "MFU":  # the goal's runner's MFU (the rehearsal's tiny RoBERTa stands in for RoBERTa-base)
        matching = [f for k, f in figures.items() if " MFU at " in k]
    if not matching:
        return None, None
    return matching[-1]["value"], matching[-1]["source"]


def judge(goal: Goal, value: Any, device: str) -> str:
    if value is None:
        return NOT_MEASURED
    if goal.key == "MFU" and not any(chip in device for chip in ("H100", "H200")):
        return f"not judged (the goal is for an H100/H200, this is {device})"
    return MET if goal.passes(value) else MISSED


def _shown(value: Any) -> str:
    if value is None:
        return NOT_MEASURED
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return " / ".join(_shown(v) for v in value)
    return str(value)


def environment(rehearse: bool) -> dict[str, Any]:
    from bench.gpu import GpuMemory
    from bench.host import environment as host_environment
    from bench.host import now

    env = host_environment()
    if rehearse:
        device, driver = "CPU (REHEARSAL: no GPU; figures marked 'fake GPU' are from a pretend GPU)", None
    else:
        with GpuMemory() as gpu:
            pass
        device, driver = gpu.gpu_name, gpu.driver
    return {
        "device": device,
        "driver": driver,
        "cuda": env["cuda"],
        "torch": env["versions"]["torch"],
        "transformers": env["versions"]["transformers"],
        "bench": env["versions"]["bench"],
        "git_commit": env["git_hash"],
        "python": env["python"],
        "finished_at": now(),
    }


def write_page(check: Any, wall_s: float, out: Path) -> tuple[Path, Path]:
    rehearse = check.plan.rehearse
    env = environment(rehearse)
    device = FAKE_DEVICE if rehearse else env["device"] or ""  # the rehearsal judges as its pretend GPU would
    goals = []
    for goal in GOALS:
        value, source = goal_figure(goal, check.figures)
        result = judge(goal, value, device)
        goals.append(
            {
                "goal": goal.what,
                "target": goal.target,
                "value": value,
                "shown": NOT_MEASURED if value is None else goal.shown(value),
                "source": source,
                "result": result,
                "judged": not rehearse,
            }
        )
    data = {
        "label": REHEARSAL if rehearse else "GPU",
        "rehearsal": rehearse,
        "wall_s": round(wall_s, 1),
        "environment": env,
        "goals": goals,
        "steps": check.steps,
        "figures": check.figures,
        "passed": not any(s["status"] == "FAIL" for s in check.steps),
    }
    out.mkdir(parents=True, exist_ok=True)
    json_path, page_path = out / "gpu-check.json", out / "gpu-check.md"
    json_path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    page_path.write_text(_markdown(data, check.tables))
    return page_path, json_path


def _markdown(data: dict[str, Any], tables: dict[str, str]) -> str:
    rehearse, env = data["rehearsal"], data["environment"]
    if rehearse:
        title = "# GPU check: REHEARSAL on a CPU (no figure here is a GPU measurement)"
        banner = (
            "> **REHEARSAL.** Every step ran on a CPU with tiny models and a few steps. Figures from "
            "`benchmarks/gpu_fakes.py`'s pretend GPU (its allocator, CUDA events, sync spotter) are marked "
            "*fake GPU*; the others are the CPU's. They show that the check runs; they say nothing about a "
            "GPU, and no goal below is judged. The GPU run is still owed."
        )
    else:
        title, banner = f"# GPU check: {env['device']}", None
    verdict = "every step ran" if data["passed"] else "a step FAILED (see Steps)"
    lines = [title, ""] + ([banner, ""] if banner else [])
    lines += ["| | |", "|---|---|"]
    for key in ("device", "driver", "cuda", "torch", "transformers", "bench", "git_commit", "python", "finished_at"):
        lines.append(f"| {key.replace('_', ' ')} | {_shown(env[key])} |")
    lines += [
        f"| wall time | {data['wall_s']:.0f} s |",
        f"| outcome | {verdict} |",
        "",
        "## Goals",
        "",
        "| goal | target | figure | source | result |",
        "|---|---|---|---|---|",
    ]
    for g in data["goals"]:
        result = f"{REHEARSAL}: not judged (would read {g['result']})" if rehearse else g["result"]
        lines.append(f"| {g['goal']} | {g['target']} | {g['shown']} | {g['source'] or '-'} | {result} |")
    lines += ["", "## Steps", "", "| step | status | took (s) | budget (s) | note |", "|---|---|---|---|---|"]
    for s in data["steps"]:
        lines.append(f"| {s['step']} | {s['status']} | {s['seconds']} | {s['budget_s']} | {s['note'] or ''} |")
    lines += ["", "## Figures", "", "| figure | value | source |", "|---|---|---|"]
    for name, f in data["figures"].items():
        source = f"{f['source']} ({REHEARSAL})" if rehearse else f["source"]
        lines.append(f"| {name} | {_shown(f['value'])} | {source} |")
    for step, table in tables.items():
        lines += ["", f"### {step}", "", "```text", table, "```"]
    return "\n".join(lines) + "\n"
