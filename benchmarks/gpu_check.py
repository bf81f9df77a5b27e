"""The GPU check's steps, on a GPU or (`--rehearse`) on a CPU through the fakes of benchmarks/gpu_fakes.py.

Run by benchmarks/gpu_check.sh. Both modes run the same steps through the same entry points (pytest, `bench run`,
`bench profile`, and bench's probe, profiler and runners in this process); the rehearsal differs in sizes only
(tiny models, a few documents and steps) and in where a GPU is needed: there the pretend GPU of gpu_fakes.py stands
in. What comes out is one Markdown page and one JSON file (benchmarks/gpu_page.py), each figure beside its goal.

Exit status: 0 when every step ran and checked out (a missed goal is a result, on the page), 1 when a step failed
(a `FAIL <step>: <why>` line says which), 2 on a CPU without --rehearse.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its siblings are modules
from gpu_common import STEP_NAMES, Check, Plan, StepFailed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("imdb", nargs="?", default="../shared/data/imdb")
    parser.add_argument("results", nargs="?", default=None)
    parser.add_argument("--rehearse", action="store_true", help="on a CPU: tiny models, fakes where a GPU is needed")
    parser.add_argument("--steps", default=None, help="comma-separated step numbers to run, e.g. 2,3 (default: all)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    import torch

    if not args.rehearse and not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA device here; this check measures a GPU: run it on a machine with one, or "
            "rehearse it on this CPU with --rehearse",
            file=sys.stderr,
        )
        return 2
    results = Path(args.results or ("results/gpu-rehearsal" if args.rehearse else "results/gpu-check")).resolve()
    results.mkdir(parents=True, exist_ok=True)
    import gpu_steps
    from gpu_page import write_page

    check = Check(Plan.make(args.rehearse, results, Path(args.imdb).resolve()))
    started = time.perf_counter()
    functions = (gpu_steps.host_sync, gpu_steps.train, gpu_steps.profile, gpu_steps.kernels, gpu_steps.minilm)
    chosen = {int(n) for n in args.steps.split(",")} if args.steps else set(range(1, len(STEP_NAMES) + 1))
    for number, (name, run) in enumerate(zip(STEP_NAMES, functions, strict=True), start=1):
        if number not in chosen:
            continue
        budget = check.plan.budgets[name]
        print(f"\n== {name} (budget {budget}s, {time.perf_counter() - started:.0f}s so far)", flush=True)
        began = time.perf_counter()
        status, note = "ok", ""
        try:
            note = run(check, name, budget) or ""
            if note.startswith("skipped"):
                status = "skipped"
        except Exception as err:  # any failure of a step is the check's finding: said, and the next step runs
            status, note = "FAIL", str(err) if isinstance(err, StepFailed) else f"{type(err).__name__}: {err}"
            if not isinstance(err, StepFailed):
                traceback.print_exc()
        check.steps.append(
            {
                "step": name,
                "status": status,
                "seconds": round(time.perf_counter() - began, 1),
                "budget_s": budget,
                "note": note,
            }
        )
        if status == "FAIL":
            print(f"FAIL {name}: {note}", flush=True)
    wall = time.perf_counter() - started
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else results
    page, data = write_page(check, wall, out)
    print(f"\n== the page ({wall:.0f}s in all)")
    print(page.read_text())
    print(f"gpu_check wrote {page} and {data}")
    return 1 if any(s["status"] == "FAIL" for s in check.steps) else 0


if __name__ == "__main__":
    sys.exit(main())
