"""The GPU check's five steps (benchmarks/gpu_check.py runs them; `check.plan` says the GPU's sizes or the
rehearsal's). Each records its figures on `check` and returns a note; it raises where the step itself is broken.

Where a GPU branch of bench cannot run on a CPU through the command line (a CPU run takes bench's CPU branches:
the probe estimates, no CUDA events), the rehearsal also calls that branch in this process under the pretend GPU
of gpu_fakes.py: the probe's real-step search against an allocator with a memory limit, the training timer's CUDA
events, the phases' memory peaks and the profiler's GPU arithmetic (HFU, MFU against the data sheet, `bound`).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from gpu_common import REHEARSAL_ENV, Check, StepFailed, bench_cli, gpu_context, sh

SYNC_FAILURE = "host syncs in steady-state training steps at"


def host_sync(check: Check, name: str, budget: int) -> str:
    test = "tests/test_gpu_device.py::test_no_host_sync_in_steady_state_training_steps"
    env = {REHEARSAL_ENV: "1"} if check.plan.rehearse else {}
    source = "fake sync debug mode (CPU)" if check.plan.rehearse else "GPU (torch's sync debug mode)"
    try:
        tail = sh([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "gpu", test], budget, env)
    except StepFailed as err:
        found = [line for line in err.output.splitlines() if SYNC_FAILURE in line and "AssertionError" in line]
        if not found:
            raise
        sites = found[0].split(SYNC_FAILURE)[-1].strip()
        check.figure("host syncs in steady-state training steps", sites, source)
        raise StepFailed(f"host syncs in steady-state training steps at {sites}") from err
    if "1 passed" not in tail:  # skipped (no CUDA, no rehearsal switch) or not collected: nothing was checked
        raise StepFailed(f"the sync test did not run: {tail.splitlines()[-1] if tail else 'no output'}")
    check.figure("host syncs in steady-state training steps", "none", source)
    return ""


def _records(check: Check, suite: str):
    import bench

    try:
        return bench.load_results(str(check.plan.results), suite)
    except Exception as err:
        raise StepFailed(f"no {suite} records in {check.plan.results}: {err}") from err


def train(check: Check, name: str, budget: int) -> str:
    plan = check.plan
    suite_file = plan.results / "gpu-check.yaml"
    suite_file.write_text(plan.suite_text)
    sh(
        [*bench_cli(), "run", "--suite", str(suite_file), "--random-init", "--results", str(plan.results)],
        budget,
        cwd=plan.results,
    )
    runs = _records(check, "gpu-check")
    cols = [
        "runner",
        "status",
        "micro_batch_size",
        "gradient_checkpointing",
        "attn_implementation",
        "train_tokens_per_s",
        "train_samples_per_s",
        "gpu_busy",
        "bound",
        "peak_gpu_mem_train_mb",
        "peak_gpu_mem_eval_mb",
        "probe",
    ]
    check.tables[name] = runs[[c for c in cols if c in runs]].to_string(index=False, max_colwidth=70)
    bad = runs[runs["status"] != "ok"]
    if len(bad):
        raise StepFailed(f"runs not ok: {', '.join(f'{r.runner} ({r.status}: {r.error})' for r in bad.itertuples())}")
    where = "on the CPU" if plan.rehearse else "on the GPU"
    for run in runs.itertuples():
        micro_batch = _number(run.micro_batch_size)
        if micro_batch is None or "auto micro-batch" not in str(run.probe) or where not in str(run.probe):
            raise StepFailed(f"{run.runner}: the probe chose no micro-batch {where}: {run.probe}")
        source = check.run_source
        check.figure(f"{run.runner}: auto micro-batch", int(micro_batch), source, probe=run.probe)
        check.figure(f"{run.runner}: training tokens/s", _number(run.train_tokens_per_s), source)
        verdict = run.bound if isinstance(run.bound, str) else None  # NaN in the table where a record has none
        check.figure(f"{run.runner}: bound", verdict, source)
        if not plan.rehearse:
            if verdict not in ("host", "device"):
                raise StepFailed(f"{run.runner}: no host/device verdict on a GPU (bound {verdict})")
            _eval_below_train(check, run.runner, run.peak_gpu_mem_train_mb, run.peak_gpu_mem_eval_mb, source)
    if plan.rehearse:
        _probe_and_timer_on_the_fake(check, suite_file)
    return ""


def _eval_below_train(check: Check, what: str, train_mb: Any, eval_mb: Any, source: str) -> None:
    train_mb, eval_mb = _number(train_mb), _number(eval_mb)  # a record's missing figure is NaN in its table
    check.figure(
        f"{what}: eval / training memory peak (MB)",
        None if None in (train_mb, eval_mb) else [round(eval_mb, 1), round(train_mb, 1)],
        source,
    )


def _probe_and_timer_on_the_fake(check: Check, suite_file) -> None:
    """bench's GPU branches of a run, on the pretend GPU: the probe's real-step search, then timed training steps
    through the Trainer's timing callback (CUDA events, phases, `bound`) and an inference pass after it."""
    import types

    import torch

    from bench.data import load_suite_data, texts_of
    from bench.data.suite import load_suite
    from bench.gpu import GpuMemory
    from bench.runners import build_runner, probe
    from bench.train.encoding import RunnerCollator, encode, tokenize
    from bench.train.measure import ThroughputCallback, TokenCounter

    suite = load_suite(str(suite_file))
    data = load_suite_data(suite)
    ref = suite.runners[0]
    runner = build_runner(ref.runner, ref.params)
    tokenizer = runner.build_tokenizer(lambda: texts_of(data.splits["train"]))
    inputs = encode(tokenize(data.splits, tokenizer), runner, tokenizer)
    collate = RunnerCollator(tokenizer, runner, None, None)
    source = check.gpu_source
    with gpu_context(check):
        protocol, probed = probe.batch_sizes(
            runner, data.label_names, inputs["train"], inputs["validation"], collate, suite.protocol
        )
        note = probed["probe"]
        limit = probe.GPU_MARGIN * torch.cuda.get_device_properties(0).total_memory / 2**20
        check.figure(
            f"{ref.name} on the pretend GPU: auto micro-batch (real-step search, {limit / 0.9:.0f} MB)",
            protocol.per_device_batch_size,
            source,
            probe=note,
        )
        if "on the GPU" not in note or "nothing fits" in note:
            raise StepFailed(f"the probe's GPU search found no micro-batch within {limit:.0f} MB: {note}")
        model = runner.build_model(data.label_names).to("cuda")
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        rows = inputs["train"].select_columns(["input_ids", "label"]).to_list()
        size = protocol.per_device_batch_size
        counter, steps = TokenCounter(), 4
        with GpuMemory() as gpu:
            timer = ThroughputCallback(counter, warmup_steps=1, gpu=gpu)
            state = types.SimpleNamespace(global_step=0, max_steps=steps)
            timer.on_train_begin(None, state, None)
            timer.on_epoch_begin(None, state, None)
            for i in range(steps):
                timer.on_step_begin(None, state, None)
                batch = collate(rows[i * size : (i + 1) * size] or rows[:size])
                counter.add(batch)
                model(**batch).loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                state.global_step += 1
                timer.on_step_end(None, state, None)
            timer.on_epoch_end(None, state, None)
            fields = timer.record_fields()
            del optimizer, batch
            probe.free()
            gpu.reset()
            model.eval()
            with torch.inference_mode():
                model(**collate(rows[: protocol.eval_batch_size]))
            eval_peak = gpu.phase_peaks()
        check.figure(
            f"{ref.name} on the pretend GPU: GPU time of the timed steps (s, CUDA events)",
            fields["train_gpu_s"],
            source,
        )
        check.figure(f"{ref.name} on the pretend GPU: bound", fields["bound"], source, gpu_busy=fields["gpu_busy"])
        _eval_below_train(
            check, f"{ref.name} on the pretend GPU", fields["peak_gpu_mem_train_mb"], eval_peak[0], source
        )
        if not fields["train_gpu_s"] or fields["bound"] not in ("host", "device"):
            raise StepFailed(
                f"the CUDA-event timer measured nothing: gpu_s {fields['train_gpu_s']}, bound {fields['bound']}"
            )


def profile(check: Check, name: str, budget: int) -> str:
    import pandas as pd

    plan = check.plan
    for run in plan.profile_runs:
        sh(
            [
                *bench_cli(),
                "profile",
                *run,
                "--results",
                str(plan.results),
                "--report",
                str(plan.results / "profile-report"),
            ],
            budget // len(plan.profile_runs),
        )
    table = pd.read_csv(plan.results / "profile" / "profile.csv")
    cols = [
        "runner",
        "seq_len",
        "batch_size",
        "status",
        "precision",
        "s_per_step",
        "gpu_s_per_step",
        "bound",
        "tokens_per_s",
        "mfu",
        "hfu",
        "attn_implementation",
    ]
    check.tables[name] = table[[c for c in cols if c in table]].to_string(index=False)
    row = table[(table["runner"] == plan.roberta) & (table["seq_len"] == plan.roberta_len)]
    if not len(row):
        raise StepFailed(f"no {plan.roberta} row at {plan.roberta_len} tokens in profile.csv")
    mfu, hfu = _number(row["mfu"].iloc[0]), _number(row["hfu"].iloc[0])
    precision = row["precision"].iloc[0]
    source = check.run_source
    check.figure(f"{plan.roberta} MFU at {plan.roberta_len} tokens ({precision})", mfu, source, hfu=hfu)
    if plan.rehearse:
        mfu, hfu, precision = _profile_on_the_fake(check)
    elif precision != "bf16":
        raise StepFailed(f"{plan.roberta} trained in {precision}, not bf16")
    for figure, value in (("MFU", mfu), ("HFU", hfu)):
        if value is None or not 0 < value < 1:
            raise StepFailed(f"{plan.roberta}: {figure} {value} is not a share in (0, 1)")
    return ""


def _number(value: Any) -> float | None:
    import math

    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _profile_on_the_fake(check: Check) -> tuple[float | None, float | None, str]:
    """bench profile's GPU branch (CUDA events, auto batch tried for real, the data sheet's peak) on the pretend
    GPU, in this process."""
    from pathlib import Path

    from bench.profile.child import AUTO, ProfileJob, measure
    from bench.runners import build_runner

    plan = check.plan
    runner = build_runner(plan.roberta, {"max_length": plan.roberta_len, "hidden_size": 32, "num_layers": 1})
    job = ProfileJob(plan.roberta, runner, plan.roberta_len, "train", AUTO, 2, 1, Path("unused.json"))
    with gpu_context(check):
        m = measure(job)
    source = check.gpu_source
    check.figure(
        f"{plan.roberta} MFU at {plan.roberta_len} tokens ({m['precision']}, against {m['gpu_name']})",
        m["mfu"],
        source,
        hfu=m["hfu"],
        batch=m["batch_probe"],
        peak=m["peak_flops_source"],
    )
    check.figure(
        f"{plan.roberta}: wall / GPU s per step", [m["s_per_step"], m["gpu_s_per_step"]], source, bound=m["bound"]
    )
    if m["gpu_s_per_step"] is None or m["bound"] not in ("host", "device") or "on the" in str(m["peak_flops_source"]):
        raise StepFailed(f"the profiler's GPU branch did not run: {m['gpu_s_per_step']}, {m['bound']}")
    if m["precision"] != "bf16" or not str(m["peak_flops_source"]).startswith("data sheet"):
        raise StepFailed(f"no bf16 data-sheet peak: {m['precision']}, {m['peak_flops_source']}")
    return m["mfu"], m["hfu"], m["precision"]


WINDOWED = ("flash_attention_2", "flex_attention")


def kernels(check: Check, name: str, budget: int) -> str:
    """The kernels auto picks on this device for ModernBERT (a window for its local layers) and what the model is
    built with, on a model of ModernBERT's architecture made small (the choice does not depend on its size)."""
    from transformers import AutoModelForSequenceClassification

    from bench.runners import build_runner
    from bench.runners.base import label_config

    runner = build_runner("modernbert-8192", {"random_init": True, "max_length": 512})
    small = {"hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 3, "num_attention_heads": 2}
    with gpu_context(check, total_mb=80 * 1024):  # the kernels' choice, not memory, is checked here
        chosen = runner.attention_kernels()
        model = runner.load(AutoModelForSequenceClassification, {**label_config(["0", "1"]), **small})
    built = getattr(model.config, "_attn_implementation", None)
    check.figure(
        "modernbert: attention kernels auto chose / the model was built with", [chosen, built], check.gpu_source
    )
    if chosen not in WINDOWED or built != chosen:
        raise StepFailed(f"modernbert on a GPU must run its local layers as a window: chose {chosen}, built {built}")
    if not check.plan.rehearse:
        with contextlib.suppress(Exception):  # what the step-2 run was built with, where it ran
            runs = _records(check, "gpu-check")
            check.figure(
                "attention kernels of the step-2 runs",
                dict(zip(runs["runner"], runs["attn_implementation"], strict=True)),
                check.gpu_source,
            )
    return ""


def minilm(check: Check, name: str, budget: int) -> str:
    plan = check.plan
    if not (plan.imdb / "train.jsonl.gz").exists():
        return f"skipped: no IMDB copy at {plan.imdb}"
    sh(
        [
            *bench_cli(),
            "run",
            "--suite",
            "imdb-minilm",
            "--runners",
            "minilm-128",
            "--data-dir",
            str(plan.imdb),
            "--limit",
            str(plan.minilm_limit),
            "--epochs",
            "1",
            "--results",
            str(plan.results),
        ],
        budget,
        cwd=plan.results,
    )
    runs = _records(check, "imdb-minilm")
    runs = runs[runs["runner"] == "minilm-128"]
    if not len(runs) or runs["status"].iloc[0] != "ok":
        raise StepFailed(f"minilm-128 did not finish: {runs[['status', 'error']].to_dict('records')}")
    run = runs.iloc[0]
    check.figure(
        f"minilm-128 training samples/s ({plan.minilm_limit} reviews)",
        _number(run["train_samples_per_s"]),
        check.run_source,
    )
    if not plan.rehearse:
        _eval_below_train(
            check,
            "minilm-128",
            _number(run["peak_gpu_mem_train_mb"]),
            _number(run["peak_gpu_mem_eval_mb"]),
            check.run_source,
        )
    return ""
