"""`bench profile`: its arguments, the checks made before anything is written, and the sweep over lengths."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.errors import BenchError

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
DEFAULT_LENGTHS = (512, 1024, 2048, 4096)
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
        default=list(DEFAULT_LENGTHS),
        help="comma-separated sequence lengths in tokens (default: 512,1024,2048,4096)",
    )
    parser.add_argument("--batch-size", type=_count(1), default=1, help="documents per step (default: 1)")
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


def length_limit(name: str, runner) -> int | None:
    """The longest input a pretrained runner's model has positions for, from its bundled architecture (random init)
    or its checkpoint's config (a local copy, else the hub); None for runners built from a config (their position
    table follows max_length)."""
    if not hasattr(runner, "read_config"):
        return None
    try:
        config = runner.read_config(local_only=False)
        error = None if config is not None else "not found locally and not on the Hub"
    except Exception as err:  # offline, unknown id, no local copy: the model could not be built either
        config, error = None, (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
    if config is None:
        from bench.runners.locate import missing_hint

        raise BenchError(
            f"runner '{name}': cannot read the config of {runner.model_id} ({error}); profiling a pretrained runner "
            f"needs its checkpoint: {missing_hint(runner.model_id)}, or measure its architecture with --random-init"
        )
    return runner.position_limit(config)


def plan(args: argparse.Namespace) -> list:
    """Every (runner, length) job, checked before anything runs or is written."""
    from bench.profile.child import ProfileJob
    from bench.results.store import profile_record_path
    from bench.runners import TransformerRunner, build_runner, run_name

    names = args.runners
    random_init = getattr(args, "random_init", False)
    if not names:
        from bench.data.suite import load_suite

        names = [ref.runner for ref in load_suite("demo").runners]
    jobs = []
    for name in names:
        default = build_runner(name, random_init=random_init)  # an unknown name fails here, with suggestions
        if not isinstance(default, TransformerRunner):
            raise BenchError(f"runner '{name}' is not a transformer model; bench profile measures transformer runners")
        limit = length_limit(name, default)
        too_long = [  # a chunked runner gives the model one chunk at a time, whatever the length
            n
            for n in args.lengths
            if limit is not None and build_runner(name, {"max_length": n}, random_init).positions_needed() > limit
        ]
        if too_long:
            raise BenchError(
                f"runner '{name}' has positions for {limit} tokens; length(s) {', '.join(map(str, too_long))} "
                f"exceed it (pass --lengths up to {limit})"
            )
        for length in args.lengths:
            runner = build_runner(name, {"max_length": length}, random_init)  # a length it refuses fails here
            recorded = run_name(name, runner)  # random-init measurements are kept apart from the checkpoint's
            path = profile_record_path(args.results, recorded, args.mode, args.batch_size, length)
            jobs.append(
                ProfileJob(
                    recorded, runner, length, args.mode, args.batch_size, args.steps, args.warmup, path, args.threads
                )
            )
    return jobs


def run(args: argparse.Namespace, out=None) -> int:
    """Measure every job in its own spawned process, then print the table and the fitted exponents."""
    out = out or sys.stdout
    from bench.launch.local import launch
    from bench.report.profiling import build_profile_report
    from bench.results.store import check_writable, iter_profile_records, profile_dir, rebuild_profile_table

    jobs = plan(args)
    check_writable(profile_dir(args.results))
    done = []
    for i, job in enumerate(jobs, 1):
        print(
            f"[profile {i}/{len(jobs)}] {job.runner_name} · {job.mode} · batch {job.batch_size} · {job.seq_len} tokens",
            file=out,
            flush=True,
        )
        done.append(launch(job))  # running out of memory is recorded as this length's result, never retried
        rebuild_profile_table(args.results)
    print(file=out)
    print(summary_text(done), file=out)
    report = build_profile_report(args.results, args.report)
    print(
        f"\ntable: {profile_dir(args.results) / 'profile.csv'}  ({len(list(iter_profile_records(args.results)))} records)",
        file=out,
    )
    print(f"report: {report} and {report.with_name('report.html')}", file=out)
    failed = [r for r in done if r["status"] == "failed"]
    if failed:
        print(f"bench: {len(failed)} measurement(s) failed; see the status column", file=sys.stderr)
        return 1
    return 0


def summary_text(records: list[dict]) -> str:
    """The measurements as a table, then the fitted exponents per runner."""
    from bench.report.exponents import describe, exponents
    from bench.report.fmt import MISSING
    from bench.results.schema import ProfileRecord, display_names
    from bench.results.store import profile_table

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
        ok = group[group["status"] == "ok"].sort_values("seq_len")
        span = f"{ok['seq_len'].min()}–{ok['seq_len'].max()}" if len(ok) else "none ok"
        lines.append(f"  {runner} · {mode} · batch {batch} · lengths {span}: " + "; ".join(parts))
        if len(ok) > 2:  # fixed costs flatten the short end: the longest doubling shows where the curve is heading
            last = exponents(ok.tail(2).to_dict("records"))
            shown = {k: MISSING if v is None else f"{v:.2f}" for k, v in last.items()}
            lines.append(f"    between the two longest: memory {shown['memory']}, time {shown['time']}")
    return "\n".join(lines)
