"""`bench profile`: its arguments, and the table and exponents it prints; planning lives in `bench.profile.plan`,
the measuring in `bench.api.profile`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLES = """examples:
  bench profile                                      # the demo's tiny runners, 512..4096 tokens, training steps
  bench profile --runners tiny-longformer-2048 --lengths 1024,2048,4096,8192 --batch-size 2
  bench profile --mode infer --steps 20 --warmup 5   # inference (no_grad forward) instead of training
  bench profile --runners roberta-512,longformer-512-4096 --lengths 256,512   # pretrained (GPU, Hub)
  bench profile --random-init --runners roberta-512,longformer-128-1024 --lengths 256,512 --steps 1 --warmup 0
                                                     # the real architectures, random weights: no Hub, any machine

Each (runner, length) runs in a fresh process on synthetic documents of exactly that length. Records go to
<results>/profile/<runner>/<mode>-b<batch>-L<length>.json, the table to <results>/profile/profile.csv and
the plots to reports/profile/. Running out of memory at a length is recorded (status oom), not an error.
"""
# the printed table's columns, in order; their headers come from the record schema
PRINTED = ("runner", "mode", "batch_size", "seq_len", "status", "s_per_step", "tokens_per_s", "step_mem_mb",
           "step_mem_kind", "peak_gpu_mem_mb", "peak_cpu_rss_mb", "mfu")  # fmt: skip


def _lengths(text: str) -> list[int]:
    try:
        values = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        values = []
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive token counts like 512,1024, got {text!r}")
    return sorted(set(values))


def _count(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `bench profile` options to `parser`."""
    parser.add_argument(
        "--runners",
        type=lambda t: [s.strip() for s in t.split(",") if s.strip()] or None,
        help="comma-separated runners (default: the demo suite's)",
    )
    parser.add_argument(
        "--lengths",
        type=_lengths,
        default=[512, 1024, 2048, 4096],
        help="comma-separated sequence lengths in tokens (default: 512,1024,2048,4096)",
    )
    parser.add_argument(
        "--batch-size",
        type=lambda t: "auto" if t == "auto" else _count(1)(t),
        default=None,
        help="documents per step, or auto: the largest that fits (default: auto on a GPU, 1 on a CPU)",
    )
    parser.add_argument(
        "--mode",
        choices=("train", "infer"),
        default="train",
        help="train: forward, backward and optimizer step; infer: no-grad forward (default: train)",
    )
    parser.add_argument("--steps", type=_count(1), default=5, help="timed steps per length (default: 5)")
    parser.add_argument("--warmup", type=_count(0), default=2, help="untimed steps first (default: 2)")
    parser.add_argument(
        "--threads",
        type=_count(1),
        help="torch CPU threads (default: torch's, one per core); 1 gives steadier times on a busy machine",
    )
    parser.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results/)")
    parser.add_argument(
        "--report",
        type=Path,
        default=Path("reports") / "profile",
        help="where the plots and report go (default: reports/profile/)",
    )


def options(args: argparse.Namespace):
    """The command's `ProfileOptions`."""
    from bench.profile.plan import ProfileOptions

    batch_size = args.batch_size
    if batch_size is None:  # a GPU's time per step at batch 1 is launch overhead: measure at the batch it fits
        import torch

        batch_size = "auto" if torch.cuda.is_available() else 1
    return ProfileOptions(
        runners=args.runners,
        lengths=args.lengths,
        batch_size=batch_size,
        mode=args.mode,
        steps=args.steps,
        warmup=args.warmup,
        threads=args.threads,
        results=args.results,
        random_init=getattr(args, "random_init", False),
    )


def run(args: argparse.Namespace, out=None) -> int:
    """Measure every (runner, length) in its own spawned process (`bench.api.profile`), then print the table and
    the fitted exponents, and render the report."""
    out = out or sys.stdout
    from bench import api, output
    from bench.cli import essential
    from bench.report.profiling import build_profile_report
    from bench.results.schema import FAILED
    from bench.results.store import ResultStore

    table = api.profile(**vars(options(args)))
    store = ResultStore(args.results)
    print(file=out)
    print(summary_text(table.to_dict("records")), file=out)
    report = build_profile_report(args.results, args.report)
    count = len(list(store.profile_records()))
    print(f"\ntable: {store.profile_dir() / 'profile.csv'}  ({count} records)", file=out)
    if out is sys.stdout or output.quiet():
        essential(f"report: {report} and {report.with_name('report.html')}")
    else:
        print(f"report: {report} and {report.with_name('report.html')}", file=out)
    failed = int((table["status"] == FAILED).sum())
    if failed:
        print(f"bench: {failed} measurement(s) failed; see the status column", file=sys.stderr)
        return 1
    return 0


def summary_text(records: list[dict]) -> str:
    """The measurements as a table, then the fitted exponents per runner."""
    from bench.report.exponents import describe, exponents
    from bench.report.fmt import MISSING
    from bench.results.schema import OK, ProfileRecord, display_names
    from bench.results.tables import profile_table

    frame = profile_table(records)
    view = frame[list(PRINTED)].rename(columns=display_names(ProfileRecord, PRINTED))
    lines = [view.to_string(index=False, na_rep=MISSING, float_format=lambda v: f"{v:.4g}")]
    lines.append("\nscaling exponents (slope of log cost on log length, over ok lengths; 1 = linear, 2 = quadratic):")
    for (runner, mode, batch), group in frame.groupby(["runner", "mode", "batch_size"], sort=False):
        fitted = exponents(group.to_dict("records"))
        parts = [
            f"{what} {MISSING if fitted[what] is None else f'{fitted[what]:.2f}'} ({describe(fitted[what])})"
            for what in ("memory", "time")
        ]
        ok = group[group["status"] == OK].sort_values("seq_len")
        span = f"{ok['seq_len'].min()}–{ok['seq_len'].max()}" if len(ok) else "none ok"
        lines.append(f"  {runner} · {mode} · batch {batch} · lengths {span}: " + "; ".join(parts))
        if len(ok) > 2:  # fixed costs flatten the short end: the longest doubling shows where the curve is heading
            last = exponents(ok.tail(2).to_dict("records"))
            shown = {k: MISSING if v is None else f"{v:.2f}" for k, v in last.items()}
            lines.append(f"    between the two longest: memory {shown['memory']}, time {shown['time']}")
    return "\n".join(lines)
