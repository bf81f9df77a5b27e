"""Several bench runs on one machine, measured side by side in one invocation and printed against the goals.

    python benchmarks/concurrency.py --data-dir ../shared/data/imdb

(1) threads sized to the machine: `bench run --suite imdb --data-dir DIR --runners tiny-roberta-512 --limit 600
    --epochs 1` alone with sizing off (BENCH_THREADS=off: the code before it) and on, then two of them at once with
    sizing on. Goals: each of the pair takes <= 2.5x a lone run; a lone run keeps >= 95% of the unsized one's training
    throughput;
(2) `bench run --suite demo --runners tiny-roberta-512,tiny-roberta-headtail-512 --limit 400 --epochs 1`, one after
    the other and with `--jobs 2`. Goal: --jobs 2 takes <= 0.8x the sequential wall time.

Every `bench run` gets a fresh results folder (nothing is skipped) and shares the warm datasets/tokenizer caches (a
first, untimed run fills them), and a CPU registry of their own (other bench sessions on a shared machine load its CPUs
but do not change the runs' thread counts). Lone runs alternate off/on/on/off and the best of each is kept, since other work on a
shared machine only ever slows a run down. A benchmark, not a test: it takes several minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMDB = ["--suite", "imdb", "--runners", "tiny-roberta-512", "--limit", "600", "--epochs", "1"]
DEMO = ["--suite", "demo", "--runners", "tiny-roberta-512,tiny-roberta-headtail-512", "--limit", "400", "--epochs", "1"]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def start(args: list[str], results: Path, threads: str, cwd: Path) -> subprocess.Popen:
    # a registry of its own: the runs of this script count each other, not other bench sessions on a shared machine
    env = {
        **os.environ,
        "BENCH_THREADS": threads,
        "HF_HUB_OFFLINE": "1",
        "BENCH_CPU_CLAIMS": str(cwd.parent / "claims"),
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "bench", "run", *args, "--results", str(results / "results")]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, started: float) -> float:
    _, err = proc.communicate()
    if proc.returncode:
        sys.exit(f"bench run failed ({proc.returncode}):\n{err[-3000:]}")
    return time.perf_counter() - started


def tokens_per_s(results: Path) -> float:
    (path,) = (results / "results" / "imdb" / "runs" / "tiny-roberta-512").glob("seed0.json")
    return json.loads(path.read_text())["train_tokens_per_s"]


def runs(specs: list[tuple[list[str], str]], root: Path) -> list[tuple[float, Path]]:
    """Start every (arguments, BENCH_THREADS) at once; each one's wall time and results folder."""
    folders = [Path(tempfile.mkdtemp(dir=root, prefix="results-")) for _ in specs]
    started = time.perf_counter()
    # each in its own folder: runs at once must not write the same report files
    procs = [start(args, folder, threads, folder) for (args, threads), folder in zip(specs, folders, strict=True)]
    return [(finish(proc, started), folder) for proc, folder in zip(procs, folders, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data/imdb"))
    parser.add_argument("--skip", choices=("1", "2"), help="leave out one of the two measurements")
    args = parser.parse_args()
    imdb = [*IMDB, "--data-dir", str(args.data_dir.resolve())]
    root = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    print(f"{os.cpu_count()} CPUs, {len(os.sched_getaffinity(0))} usable; load average before: {load()}", flush=True)

    if args.skip != "1":
        runs([(imdb, "auto"), (DEMO, "auto")], root)  # fill the caches, untimed
        lone: dict[str, list[tuple[float, float]]] = {"off": [], "auto": []}
        for threads in ("off", "auto", "auto", "off"):
            ((wall, folder),) = runs([(imdb, threads)], root)
            lone[threads].append((wall, tokens_per_s(folder)))
        pair = runs([(imdb, "auto"), (imdb, "auto")], root)
        off_wall, off_tps = min(w for w, _ in lone["off"]), max(t for _, t in lone["off"])
        on_wall, on_tps = min(w for w, _ in lone["auto"]), max(t for _, t in lone["auto"])
        print("\n(1) bench run " + " ".join(imdb))
        print(f"    alone, sizing off (before): {off_wall:5.1f} s, {off_tps:,.0f} train tokens/s (best of 2)")
        print(f"    alone, sizing on:           {on_wall:5.1f} s, {on_tps:,.0f} train tokens/s (best of 2)")
        for i, (wall, folder) in enumerate(pair, 1):
            print(f"    pair, run {i}, sizing on:    {wall:5.1f} s, {tokens_per_s(folder):,.0f} train tokens/s")
        worst = max(w for w, _ in pair) / on_wall
        kept = on_tps / off_tps
        print(f"    -> each of the pair / alone: {worst:.2f}x, goal <= 2.5: {'met' if worst <= 2.5 else 'MISSED'}")
        print(
            f"    -> alone, tokens/s sized / unsized: {kept:.3f}, goal >= 0.95: {'met' if kept >= 0.95 else 'MISSED'}"
        )
        print(f"    load average now: {load()}", flush=True)

    if args.skip != "2":
        if args.skip == "1":
            runs([(DEMO, "auto")], root)  # fill the caches, untimed
        ((sequential, _),) = runs([(DEMO, "auto")], root)
        ((parallel, _),) = runs([([*DEMO, "--jobs", "2"], "auto")], root)
        ratio = parallel / sequential
        print("\n(2) bench run " + " ".join(DEMO))
        print(f"    one after the other: {sequential:5.1f} s; --jobs 2: {parallel:5.1f} s")
        print(f"    -> --jobs 2 / sequential: {ratio:.2f}, goal <= 0.8: {'met' if ratio <= 0.8 else 'MISSED'}")
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
