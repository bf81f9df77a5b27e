"""Plan a suite's runs, skip finished ones, run each in a fresh process, and keep the table current."""

from __future__ import annotations

import dataclasses
import queue
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.config import SuiteConfig
from bench.data.identity import file_hashes
from bench.data.tune import validation_score
from bench.errors import BenchError
from bench.launch import tune
from bench.launch.local import AS_IS, STOP, Placement, launch_with_retries, stop_all
from bench.launch.options import RunOptions
from bench.launch.progress import SweepProgress
from bench.results.key import differences
from bench.results.schema import RunRecord
from bench.results.store import Busy, ResultStore
from bench.runners import RUNNERS, EstimatorRunner, build_runner, run_name
from bench.tasks import task_for
from bench.train.console import duration
from bench.train.job import EVAL, Job, run_configuration_key
from bench.train.tracking import check_installed


@dataclass(frozen=True)
class Plan:
    """A suite's runs: those to run, those finished with the same configuration key (skipped), and those finished
    with another one (`stale`, with what differs), which `check` refuses unless the plan overwrites them."""

    jobs: tuple[Job, ...]
    skipped: tuple[Job, ...]
    overwrite: bool = False
    stale: tuple[tuple[Job, tuple[str, ...]], ...] = ()
    # tuned (runner, seed)s whose selection waits for their grid points to run (`selected_plan`)
    deferred: tuple[tuple[tune.Pending, Any], ...] = ()

    @property
    def finals(self) -> tuple[Job, ...]:
        """The planned and skipped runs that are a suite's own (not a tuning grid's points)."""
        return tuple(job for job in (*self.jobs, *self.skipped) if not job.point)

    def check(self) -> None:
        """Refuse, before anything runs, to keep finished runs of another configuration as the suite's result.

        Raises:
            BenchError: One line per such run, naming what changed, and the two ways out.
        """
        if not self.stale:
            return
        results = self.stale[0][0].store.root
        lines = [f"{len(self.stale)} finished run(s) in {results} were made with another configuration:"]
        lines += [f"  {job.run_key}: {'; '.join(changed)}" for job, changed in self.stale]
        lines.append(
            "re-run them with --overwrite (each old record stays until its new one is written), or pass "
            "--results DIR to keep both"
        )
        raise BenchError("\n".join(lines))


def plan(suite: SuiteConfig, options: RunOptions) -> Plan:
    """The (runner, seed) jobs to run, in order. A run with an `ok` record of the same configuration key is skipped
    unless `options.overwrite`; one of another key is `stale` (run only with `overwrite`); a `failed` or `oom`
    record is run again (resuming its checkpoints where their key matches).

    `options.distributed`: train each transformer run on several processes (a scikit-learn runner runs in one);
    refused in one line when the processes cannot make up the suite's effective batch exactly. `random_init` builds
    every pretrained runner with random weights (recorded under `run_name`'s suffixed name). Nothing is written."""
    check_installed(suite.report_to)
    distributed = options.distributed
    if distributed is not None and distributed.world_size > 1:
        distributed.check(suite.protocol)
    else:
        distributed = None
    store = ResultStore(options.results)
    hashes = file_hashes(suite, options.data_dir)  # once for the whole suite: every run reads the same files
    refs = {ref.name: ref for ref in suite.runners}
    jobs, grids = [], []
    for name in options.runners or list(refs):
        ref = refs.get(name)
        if ref is None and name not in RUNNERS:
            raise BenchError(RUNNERS.unknown_message(name) + f" Suite '{suite.name}' runs: {', '.join(refs)}.")
        runner = build_runner(ref.runner if ref else name, ref.params if ref else None, options.random_init)
        if runner.params().get("trust_remote_code") is True:  # said before anything reads the checkpoint
            print(
                f"bench: warning: runner '{name}' sets trust_remote_code: it runs Python code from "
                f"{getattr(runner, 'model_id', 'its checkpoint')}; only do this for checkpoints you trust",
                file=sys.stderr,
            )
        try:
            runner.check_supported()
        except BenchError as err:
            raise BenchError(f"runner '{name}': {err}") from None
        estimator = isinstance(runner, EstimatorRunner)
        spread = None if estimator else distributed
        key = run_configuration_key(suite, runner, options.limit, options.data_dir, hashes)
        for seed in suite.seeds:
            job = Job(
                suite, run_name(name, runner), runner, seed, store, options.data_dir, options.limit, 0, spread, key
            )
            if not suite.tune:
                jobs.append(job)
            elif estimator:  # every point would be the same run: it runs once, and its record says so
                jobs.append(dataclasses.replace(job, tuning=tune.untuned_note(suite.tune)))
            else:

                def key_of(s: SuiteConfig, runner=runner) -> dict:
                    return run_configuration_key(s, runner, options.limit, options.data_dir, hashes)

                item = tune.pending(dataclasses.replace(job, key=tune.grid_key(key, suite.tune)), key_of)
                jobs += item.points
                grids.append((item, key_of))
    todo, skipped, stale = [], [], []
    for job in jobs:
        _sort(job, tune.classify(job, options.overwrite), todo, skipped, stale)
    deferred = []
    for item, key_of in grids:  # a grid whose points are all done selects now, so that a rerun skips everything
        if all(job in skipped for job in item.points) and isinstance(final := tune.resolve(item, key_of), Job):
            _sort(final, tune.classify(final, options.overwrite), todo, skipped, stale)
        elif changed := tune.stale_before_selection(item, options.overwrite):  # said now, not after the grid ran
            stale.append((item.base, changed))
        else:
            deferred.append((item, key_of))
    return Plan(tuple(todo), tuple(skipped), options.overwrite, tuple(stale), tuple(deferred))


def _sort(job: Job, verdict: tuple[str, ...] | bool, todo: list, skipped: list, stale: list) -> None:
    if verdict is True:
        todo.append(job)
    elif verdict is False:
        skipped.append(job)
    else:
        stale.append((job, verdict))


def selected_plan(the_plan: Plan, out=None) -> Plan:
    """After a tuned suite's grid points ran: the runs of the points selected on validation (each to test once),
    for the (runner, seed)s the first plan could not select for yet. One whose points did not all finish is left
    out, with a line saying why."""
    out = out or sys.stdout
    todo, skipped, stale = [], [], []
    for item, key_of in the_plan.deferred:
        final = tune.resolve(item, key_of)
        if isinstance(final, str):
            print(f"{item.base.runner_name} · seed {item.base.seed}: not selected: {final}", file=out, flush=True)
            continue
        _sort(final, tune.classify(final, the_plan.overwrite), todo, skipped, stale)
    return Plan(tuple(todo), tuple(skipped), the_plan.overwrite, tuple(stale))


def run_jobs(
    the_plan: Plan, out=None, slots: Sequence[Placement] = (AS_IS,), verbose: bool = False, word: str = "run"
) -> list[RunRecord]:
    """Run each job in a spawned process, holding the run's lock; a crash becomes a `failed` record, and the sweep
    goes on. A run that runs out of memory is retried with half the micro-batch (same effective batch).

    The console gets a few lines per run (its start, one per epoch, its result and the sweep's progress with the
    time left); each run's full output goes to `seed<k>.log` beside its record, echoed to the console as well when
    `verbose`. With several `slots` (one per GPU, or CPU shares), that many runs train at once, each worker placed in
    a free slot, and the console says which run is where. `word` names the runs in the tags ("[run 1/4]")."""
    out = out or sys.stdout
    STOP.clear()
    total = len(the_plan.jobs)
    progress = SweepProgress.of(the_plan.jobs, slots=max(1, len(slots)))  # each runner timed from its own runs
    if len(slots) <= 1:
        slot = dataclasses.replace(slots[0] if slots else AS_IS, verbose=verbose)
        done = (
            run_one(job, the_plan.overwrite, f"[{word} {i}/{total}]", slot, out, progress)
            for i, job in enumerate(the_plan.jobs, 1)
        )
        return [record for record in done if record is not None]
    free: queue.Queue[Placement] = queue.Queue()
    for slot in slots:
        free.put(dataclasses.replace(slot, share=len(slots), verbose=verbose))

    def one(i: int, job: Job) -> RunRecord | None:
        slot = free.get()
        try:
            return run_one(job, the_plan.overwrite, f"[{word} {i}/{total} · {slot.device}]", slot, out, progress)
        finally:
            free.put(slot)

    pool = ThreadPoolExecutor(len(slots), thread_name_prefix="bench-slot")
    futures = [pool.submit(one, i, job) for i, job in enumerate(the_plan.jobs, 1)]
    try:
        records = [f.result() for f in futures]
    except KeyboardInterrupt:
        stop_all()  # the running workers stop (keeping their checkpoints), the waiting ones never start
        pool.shutdown(cancel_futures=True)
        raise
    pool.shutdown()
    return [record for record in records if record is not None]


_table_lock = threading.Lock()  # runs finishing at once must not write the table from stale reads


def run_one(
    job: Job,
    overwrite: bool,
    tag: str,
    placement: Placement = AS_IS,
    out=None,
    progress: SweepProgress | None = None,
    restart: bool | None = None,
) -> RunRecord | None:
    """One run under its lock, with out-of-memory retries; its record, or None when another process has it (running
    or just finished). The table is rebuilt after it. The worker says on the console that it starts (with `tag`);
    everything else it writes goes to its log beside the record.

    `overwrite` runs it even where it has a finished record (kept until the new one is written); `restart` (default:
    as `overwrite`) first moves an earlier try's checkpoints aside, so that it starts afresh. A requeued `--overwrite`
    run (Slurm) continues its own try instead: `overwrite=True, restart=False`."""
    out = out or sys.stdout
    title = f"{tag} {job.runner_name}{f' · tuning {job.point}' if job.point else ''} · seed {job.seed}"
    progress = progress or SweepProgress([job.runner_name])
    restart = overwrite if restart is None else restart
    started = time.perf_counter()

    def skip(why: str) -> None:
        print(f"{title}: skipped: {why}", file=out, flush=True)
        with _table_lock:
            progress.skipped(job.runner_name)

    try:
        with job.store.lock(job.run_key, job.per_host_lock):
            record = job.store.read(job.run_key)
            if record is not None and record.ok and not overwrite:
                same = not differences(record.config_key, job.key)
                skip("another bench process has just finished it" + ("" if same else ", with another configuration"))
                return None
            if restart:  # a fresh try: a fresh log, and the earlier try's checkpoints kept aside
                job.log_path.unlink(missing_ok=True)
                if (aside := job.move_checkpoints_aside()) is not None:
                    print(f"{title}: starting afresh; the earlier try's checkpoints are kept in {aside}", file=out)
            placed = dataclasses.replace(placement, log=job.log_path, title=title)
            record = _run_with_oom_retries(job, tag, out, placed)
    except Busy:
        skip("another bench process is running it right now")
        return None
    if record is None:
        print(f"{tag} done here; rank 0 ran on another machine, which writes the record", file=out, flush=True)
        return None
    with _table_lock:
        job.store.rebuild_table(job.suite.name)
        # the run's own time: a wait for CPUs other bench jobs held (bench/cpus.py) is not a cost of its runner
        progress.finished(job.runner_name, record.wall_s or time.perf_counter() - started)
        line = progress.line()
    if record.ok and job.point:  # a grid point: its validation score is what selection reads
        metric = job.suite.protocol.metric_for_best_model
        score = validation_score(record.epochs, record.best_epoch, metric)
        shown = f"{score:.4f}" if score is not None else "—"
        result = f"{tag} done: val {metric} {shown} (grid point {job.point}, no test) in {duration(record.wall_s)}"
    elif record.ok:
        result = f"{tag} done: {task_for(record.task).describe(record)} in {duration(record.wall_s)}"
    else:
        result = f"{tag} {record.status}: {record.error} · log: {job.log_path}"
        kept = job.store.read(job.run_key)
        if kept is not None and kept.ok:
            result += " · the run's earlier finished record is kept"
    print(f"{result} · {line}", file=out, flush=True)
    return record


def _run_with_oom_retries(job: Job, tag: str, out, placement: Placement) -> RunRecord | None:
    def say(old: Job, new: Job, failed: RunRecord) -> None:
        before, after = old.suite.protocol, new.suite.protocol
        if failed.oom_phase == EVAL:
            change = (
                f"out of memory evaluating at batch {failed.eval_batch_size or before.eval_batch_size}; retrying with "
                f"evaluation batch {after.eval_batch_size}"
            )
        else:
            change = (
                f"out of memory at micro-batch {failed.micro_batch_size or before.per_device_batch_size}; retrying "
                f"with micro-batch "
                f"{after.per_device_batch_size} x {new.accumulation_steps} accumulation steps (effective batch "
                f"{after.batch_size}, unchanged)"
            )
        print(f"{tag} {change}, from its last checkpoint", file=out, flush=True)

    return launch_with_retries(job, say, placement)
