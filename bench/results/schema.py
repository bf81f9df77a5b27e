"""What a record holds, declared once: the run record and the profile record as dataclasses whose fields carry
their unit, help text, whether they are a column of the derived table, and whether only a GPU can measure them.

Every column list, display name, numeric/text split and "empty on CPU" rule elsewhere is derived from here, so a new
field is one line in this file. Pure Python: the report imports it on a laptop without torch.
"""

# No `from __future__ import annotations`: field types stay real types, so kinds (number or text) derive from them.

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# the views derived from these declarations live in fields.py; callers keep asking the schema for them
from bench.results.fields import (
    _base_type,  # noqa: F401
    describe_fields,  # noqa: F401
    display_names,  # noqa: F401
    field_names,  # noqa: F401
    fields_of,  # noqa: F401
    gpu_fields,  # noqa: F401
    integer_fields,  # noqa: F401
    numeric_fields,  # noqa: F401
    scalar_fields,  # noqa: F401
    table_columns,  # noqa: F401
    text_fields,  # noqa: F401
)

# 2: positive_label, training/test GPU memory, energy, the GPU's UUID, NVML scope, gpu_shared, segments; 3: the
# configuration key (config_key, config_digest), oom_phase, gradient_checkpointing, eval_batch_size, probe and
# attn_implementation; 4: the key's data origin and resolved precision (key version 2) (older records are migrated
# on read: bench/results/migrations.py)
SCHEMA_VERSION = 4

# A record's status, spelled once: a run or measurement that finished, failed, or ran out of memory.
OK, FAILED, OOM = "ok", "failed", "oom"
STATUSES = (OK, FAILED, OOM)


def _f(
    help: str,
    unit: str | None = None,
    table: bool = False,
    short: str | None = None,
    gpu: bool = False,
    key: bool = False,
    default: Any = None,
) -> Any:
    """A record field. `table`: a column of results.csv; `short`: its header in printed tables; `gpu`: measurable on
    a GPU only (None on a CPU, never 0); `key`: identifies the record (never averaged)."""
    meta = {"help": help, "unit": unit, "table": table, "short": short, "gpu": gpu, "key": key}
    if isinstance(default, dict | list):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


class Record:
    """Shared behaviour of the record dataclasses: a plain JSON-ready dict, runner facts flattened into it."""

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "facts"}  # type: ignore[arg-type]
        facts = getattr(self, "facts", None) or {}
        clash = sorted(set(facts) & set(out))
        if clash:
            raise ValueError(f"runner facts {', '.join(clash)} collide with declared record fields")
        return {**out, **facts}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """The record of a JSON mapping in the current layout (`bench.results.migrations.migrate`): declared fields
        as attributes; for a run record, the rest (runner facts) in `facts`."""
        names = {f.name for f in dataclasses.fields(cls)} - {"facts"}  # type: ignore[arg-type]
        known = {k: v for k, v in data.items() if k in names}
        if "facts" in {f.name for f in dataclasses.fields(cls)}:  # type: ignore[arg-type]
            return cls(**known, facts={k: v for k, v in data.items() if k not in names})
        return cls(**known)

    @property
    def ok(self) -> bool:
        return getattr(self, "status", None) == OK


@dataclass
class RunRecord(Record):
    """One run: (suite, runner, seed), its configuration, environment and measurements."""

    # identity
    suite: str = _f("suite name", table=True, key=True)
    runner: str = _f("runner name (a suite's alias where it gives one)", table=True, key=True)
    seed: int = _f("training seed", table=True, key=True)
    status: str = _f("ok | failed | oom", table=True, key=True)
    config_digest: str | None = _f(
        "short hash of config_key: runs of one runner with different digests are different runs", table=True
    )
    # quality on test, with the epoch (or setting) chosen on validation
    accuracy: float | None = _f("test accuracy", table=True)
    f1: float | None = _f("test F1 (binary on positive_label for two classes, else macro)", table=True)
    precision: float | None = _f("test precision, averaged as f1", table=True)
    recall: float | None = _f("test recall, averaged as f1", table=True)
    f1_average: str | None = _f("binary or macro")
    positive_label: str | None = _f("the class binary F1, precision and recall are computed for (two classes)")
    # multi-label suites (task multilabel): f1, precision and recall above are the micro ones, accuracy is subset
    # accuracy (the share of documents whose label set is predicted exactly)
    task: str | None = _f(
        "single_label | multilabel: the suite's data.task (None in records before multi-label suites)"
    )
    threshold: float | None = _f("multilabel: the score a label's prediction needs, chosen on validation")
    micro_f1: float | None = _f("multilabel: test F1 over all (document, label) decisions", table=True)
    macro_f1: float | None = _f("multilabel: test F1 averaged over the labels in test or predicted (others: no F1)")
    micro_f1_frequent: float | None = _f("multilabel: test micro-F1 over labels in 50+ training documents")
    micro_f1_few_shot: float | None = _f("multilabel: test micro-F1 over labels in 1-49 training documents")
    micro_f1_zero_shot: float | None = _f("multilabel: test micro-F1 over labels in no training document")
    samples_f1: float | None = _f("multilabel: test F1 averaged over documents (1 where none is true or predicted)")
    micro_precision: float | None = _f("multilabel: test precision over all (document, label) decisions")
    micro_recall: float | None = _f("multilabel: test recall over all (document, label) decisions")
    per_label: dict | None = _f("multilabel: per label name, test precision, recall, f1 and support")
    task_metrics: dict | None = _f(
        "the task's own test metrics beyond the fields above, by name (a task kind added as "
        "one module of bench/tasks/ reports them here; the report reads them as columns)"
    )
    # what the runner reads
    max_length: int | None = _f("longest model input in tokens", "tokens", table=True, short="max_len")
    attention_window: int | None = _f("sliding attention window", "tokens", table=True, short="window")
    truncation: str | None = _f("head | head+tail | chunks | none")
    attn_implementation: str | None = _f(
        "attention kernels the model ran (sdpa, flex_attention, eager, …)", table=True, short="attn"
    )
    # cost
    train_samples_per_s: float | None = _f("training documents per second (warm-up steps excluded)", "1/s", True)
    train_tokens_per_s: float | None = _f(
        "non-padding training tokens per second (warm-up excluded)", "1/s", table=True, short="train tok/s"
    )
    eval_samples_per_s: float | None = _f("test documents per second", "1/s", table=True, short="eval samples/s")
    peak_gpu_mem_mb: float | None = _f(
        "whole-run peak CUDA allocator memory (torch.cuda.max_memory_allocated over training, validation and the test "
        "pass); not the GPU memory bench shows, which is the training peak (peak_gpu_mem_train_mb)",
        "MB",
        table=True,
        short="run peak GPU MB",
        gpu=True,
    )
    peak_cpu_rss_mb: float | None = _f("peak resident memory of the run's process", "MB", True, "peak CPU RSS MB")
    wall_s: float | None = _f("wall time of the run's process", "s", table=True, short="wall s")
    device: str | None = _f("cuda | cpu", table=True)
    host: str | None = _f("the machine the run trained on (its rank 0's, for a run on several)", table=True)
    world_size: int | None = _f("processes that trained the run together (1: one process, one device)", table=True)
    n_params: int | None = _f("trainable and frozen parameters of the model", table=True)
    model_family: str | None = _f("runners of one family share a line in plots", table=True)
    init: str | None = _f(
        "pretrained: weights from the checkpoint; random: the checkpoint's architecture with random weights (cost "
        "only: its accuracy says nothing about the model); scratch: a model meant to be trained from nothing (tiny, TF-IDF)",
        table=True,
    )
    best_epoch: int | None = _f("epoch (or setting) chosen on validation", table=True)
    n_epochs: int | None = _f("epochs (or settings) trained", table=True)
    train_padded_tokens_per_s: float | None = _f("training tokens per second, padding included", "1/s", table=True)
    peak_gpu_mem_reserved_mb: float | None = _f("peak CUDA caching-allocator reservation", "MB", table=True, gpu=True)
    peak_gpu_mem_nvml_mb: float | None = _f("peak GPU memory of the process seen by NVML", "MB", table=True, gpu=True)
    peak_gpu_mem_train_mb: float | None = _f(
        "training peak GPU memory allocated: peak CUDA allocator memory while training (validation passes excluded); "
        "the GPU memory the console, the report and the verdict show",
        "MB",
        True,
        "training peak GPU MB",
        gpu=True,
    )
    peak_gpu_mem_eval_mb: float | None = _f(
        "peak CUDA allocator memory of the test pass", "MB", table=True, short="eval GPU MB", gpu=True
    )
    train_energy_j: float | None = _f("GPU energy while training (NVML board counter)", "J", True, "train J", gpu=True)
    # energy and carbon over the training steps train_s times (codecarbon's offline tracker, the `energy` extra):
    # missing where it is not installed or did not measure, never 0
    energy_kwh: float | None = _f("electricity while training: CPU + GPU + RAM (codecarbon)", "kWh", True, "train kWh")
    energy_kwh_cpu: float | None = _f("the CPU's share of energy_kwh", "kWh")
    energy_kwh_gpu: float | None = _f("the GPUs' share of energy_kwh (NVML)", "kWh", gpu=True)
    energy_kwh_ram: float | None = _f("the RAM's share of energy_kwh (estimated from its size)", "kWh")
    co2eq_kg: float | None = _f("CO2-equivalent of energy_kwh at carbon_intensity", "kg", True, "train kg CO2eq")
    carbon_intensity: float | None = _f("the grid intensity co2eq_kg was computed at", "g/kWh")
    energy_country: str | None = _f(
        "ISO 3166-1 alpha-3 country whose grid mix gave carbon_intensity (None: given as it is)"
    )
    energy_method: str | None = _f(
        "measured: every part read from a meter (RAPL, NVML); estimated: some part from TDP, load or size", table=True
    )
    energy_sources: str | None = _f("how codecarbon read each part: `cpu: RAPL; gpu: NVML; ram: estimated (size)`")
    error: str | None = _f("last line of the error of a run that did not finish", table=True)
    # the rest of the record
    model_id: str | None = _f("checkpoint (hub id or folder) of a pretrained runner")
    tokenizer: str | None = _f("the tokenizer used: the checkpoint (and folder) it came from, or how it was trained")
    checkpoint_revision: str | None = _f(
        "the weights loaded: the hub commit, 'local folder <path>', 'package <name> <version>' or 'random init'"
    )
    oom_retries: int = _f("times the micro-batch was halved after running out of memory", default=0)
    oom_phase: str | None = _f("train | eval: the phase that ran out of memory (a failed try; None where unknown)")
    train_s: float | None = _f("training time, warm-up steps and evaluation excluded", "s")
    train_gpu_s: float | None = _f("GPU time of the same steps (CUDA events around each optimizer step)", "s", gpu=True)
    gpu_busy: float | None = _f("train_gpu_s / train_s: the share of training time the GPU computed", gpu=True)
    bound: str | None = _f(
        "host: the GPU computed under 80% of the training time (launches, Python, data set the pace: the cost is "
        "the harness's more than the architecture's); device",
        table=True,
        gpu=True,
    )
    gpu_util_pct: float | None = _f("mean NVML GPU utilisation while training", "%", gpu=True)
    prepare_s: float | None = _f("building the tokenizer, tokenizing and encoding", "s")
    throughput_warmup_steps: int | None = _f("optimizer steps left out of the training throughput")
    gpu_name: str | None = _f("CUDA device name", gpu=True)
    gpu_driver: str | None = _f("NVIDIA driver version", gpu=True)
    gpu_uuid: str | None = _f("the GPU's UUID (what NVML was asked about)", gpu=True)
    peak_gpu_mem_train_reserved_mb: float | None = _f("peak CUDA reservation while training", "MB", gpu=True)
    peak_gpu_mem_train_nvml_mb: float | None = _f("peak NVML memory while training", "MB", gpu=True)
    peak_gpu_mem_eval_reserved_mb: float | None = _f("peak CUDA reservation of the test pass", "MB", gpu=True)
    peak_gpu_mem_eval_nvml_mb: float | None = _f("peak NVML memory of the test pass", "MB", gpu=True)
    nvml_scope: str | None = _f(
        "process: NVML memory of this process; device: of the whole GPU (the process was not visible to NVML)", gpu=True
    )
    eval_energy_j: float | None = _f("GPU energy of the test pass (NVML board counter)", "J", gpu=True)
    avg_gpu_power_w: float | None = _f("train_energy_j / train_s", "W", gpu=True)
    gpu_shared: bool | None = _f(
        "other processes used the GPU during the run: the energy counter is the whole board's", gpu=True
    )
    # the conditions its cost was measured under (bench/cpus.py); the report flags runners measured under others
    cpu_threads: int | None = _f(
        "CPU threads the run computed with (torch, OpenMP, MKL, tokenizers), fixed for its whole duration"
    )
    cpus: str | None = _f(
        "the CPUs the run was pinned to (Linux ids, comma-separated), disjoint from other bench runs'; None: unpinned"
    )
    cpu_quota: float | None = _f("the cgroup's CPU quota (cpu.max) in CPUs; None where there is none")
    cpu_wait_s: float | None = _f("time the run waited, queued, for CPUs that other bench runs held", "s")
    host_other_cpus: float | None = _f(
        "other processes' CPU use on the run's CPUs while it trained and tested, in CPUs (/proc/stat; 0.5: half a "
        "CPU busy with other work)"
    )
    cpu_steal: float | None = _f("share of the run's CPUs' time the hypervisor stole while it trained and tested")
    load_avg: float | None = _f("the machine's 1-minute load average when the run finished training and testing")
    segments: int | None = _f("processes that trained part of this run (1 + resumes); times and tokens are summed")
    n_features: int | None = _f("feature count of a scikit-learn runner")
    n_train: int | None = _f("training documents")
    n_train_split: int | None = _f(
        "documents of the suite's train split before --limit (train and validation are carved from it): the report "
        "scales a limited run's training time to the full data by it"
    )
    n_val: int | None = _f("validation documents")
    n_test: int | None = _f("test documents")
    micro_batch_size: int | None = _f("documents per forward pass (per device)", table=True, short="micro")
    gradient_checkpointing: bool | None = _f(
        "activation checkpointing was on (recomputes activations: more time, less memory)", table=True, short="ckpt"
    )
    eval_batch_size: int | None = _f("documents per evaluation pass (per device)")
    probe: str | None = _f(
        "how an `auto` batch size was chosen: the sizes tried on the longest documents, the memory used"
    )
    gradient_accumulation_steps: int | None = _f(
        "micro-batches per optimizer step on each process (effective batch: micro x world_size x this)"
    )
    mixed_precision: str | None = _f("bf16 | fp16 | no")
    resumed_from_epoch: int | None = _f("the epoch checkpoint an interrupted run resumed from")
    finished_at: str | None = _f("UTC time the record was written (ISO 8601)")
    label_names: list | None = _f("class names in label-id order")
    epochs: list | None = _f("per epoch: train loss and validation metrics")
    selected_params: dict | None = _f("hyper-parameters chosen on validation (scikit-learn runners)")
    tune_point: str | None = _f("a tuning grid point's run: the point's name (`learning_rate=2e-05`); no test pass")
    tuned: dict | None = _f("protocol settings chosen on validation from the suite's `tune:` grid")
    tuning_points: int | None = _f("grid points trained to choose them (each a run of its own)")
    tuning_train_s: float | None = _f("training time of the grid's runs, summed (this run's own not included)", "s")
    tuning_wall_s: float | None = _f("wall time of the grid's runs, summed (this run's own not included)", "s")
    tuning_note: str | None = _f("how the settings were chosen (each point's validation score), or why not tuned")
    environment: dict | None = _f("library versions, device, git revision")
    config: dict | None = _f("the resolved suite, runner parameters, --limit and --data-dir")
    config_key: dict | None = _f(
        "what changes the run's result (bench/results/key.py): data and its content, --limit, protocol, runner; a "
        "rerun reuses the record, or resumes the checkpoints, only when it matches"
    )
    schema_version: int = _f("version of this record layout", default=SCHEMA_VERSION)
    facts: dict = _f(
        "facts only the runner knows (e.g. BigBird's attention type), flattened into the record", default={}
    )


# Per-epoch rows of `RunRecord.epochs` and the columns of `seed<k>.predictions.csv`.
EPOCH_FIELDS = ("epoch", "train_loss", "val_loss", "val_accuracy", "val_f1", "val_precision", "val_recall")
PREDICTION_COLUMNS = ("id", "label", "pred", "score", "n_tokens")
# a multi-label run's: labels and preds are JSON lists of label names, scores a JSON mapping label -> score
MULTILABEL_PREDICTION_COLUMNS = ("id", "labels", "preds", "scores", "n_tokens")


@dataclass
class ProfileRecord(Record):
    """One `bench profile` measurement: a (runner, mode, batch size, sequence length) on synthetic input."""

    runner: str = _f("runner name", table=True, key=True)
    mode: str = _f("train | infer", table=True, key=True)
    batch_size: int = _f(
        "documents per step (with --batch-size auto, the one chosen)", table=True, short="batch", key=True
    )
    seq_len: int = _f("tokens per document", "tokens", table=True, short="length", key=True)
    status: str = _f("ok | failed | oom", table=True, key=True)
    s_per_step: float | None = _f(
        "seconds per step: on a GPU the timed steps' wall time over their count (queued back to back, one sync), on "
        "a CPU the median step",
        "s",
        table=True,
        short="s/step",
    )
    s_per_step_min: float | None = _f("fastest timed step", "s", table=True)
    tokens_per_s: float | None = _f("tokens per second at the median step", "1/s", table=True, short="tokens/s")
    samples_per_s: float | None = _f("documents per second at the median step", "1/s", table=True)
    step_mem_mb: float | None = _f(
        "memory the steps add over the built model (GPU where there is one, else the RSS delta)", "MB", True,
        "step mem MB",
    )  # fmt: skip
    step_mem_kind: str | None = _f("gpu | cpu: what step_mem_mb measured", table=True, short="mem kind")
    peak_gpu_mem_mb: float | None = _f("peak CUDA allocator memory", "MB", table=True, short="peak GPU MB", gpu=True)
    peak_gpu_mem_reserved_mb: float | None = _f("peak CUDA reservation", "MB", table=True, gpu=True)
    peak_gpu_mem_nvml_mb: float | None = _f("peak NVML process memory", "MB", table=True, gpu=True)
    peak_cpu_rss_mb: float | None = _f("peak RSS of the process, imports included", "MB", True, "peak RSS MB")
    step_peak_cpu_rss_mb: float | None = _f("peak RSS over the steps (resettable high-water mark)", "MB", True)
    step_cpu_rss_delta_mb: float | None = _f("step_peak_cpu_rss_mb minus the RSS of the built model", "MB", True)
    flops_per_token: float | None = _f("model FLOPs per token", "FLOP", table=True)
    hardware_flops_per_token: float | None = _f(
        "FLOPs per token the kernels executed (FlopCounterMode, one step)", "FLOP"
    )
    achieved_flops_per_s: float | None = _f("model FLOPs per second achieved", "FLOP/s", table=True)
    peak_flops_per_s: float | None = _f("the device's peak (data sheet, or a measured matmul on CPU)", "FLOP/s", True)
    mfu: float | None = _f("model FLOPs utilisation: achieved over peak", table=True, short="MFU")
    hfu: float | None = _f(
        "hardware FLOPs utilisation: the FLOPs the kernels executed (FlopCounterMode) per second over peak; above MFU "
        "where kernels compute what the model does not need (a masked window, padding)",
        table=True,
        short="HFU",
    )
    gpu_s_per_step: float | None = _f("median GPU time per step (CUDA events)", "s", table=True, gpu=True)
    bound: str | None = _f(
        "host: the GPU was busy under 80% of a step's wall time (launches, Python, data set the pace); device",
        table=True,
        gpu=True,
    )
    precision: str | None = _f("bf16 | fp16 | fp32", table=True)
    attention_window: int | None = _f("sliding attention window", "tokens", table=True)
    model_family: str | None = _f("runner family", table=True)
    init: str | None = _f(
        "pretrained | random | scratch, as in run records (profiling measures cost either way)", table=True
    )
    padded_len: int | None = _f("the batch's length after padding to the runner's multiple", "tokens", True)
    n_params: int | None = _f("parameters of the model", table=True)
    device: str | None = _f("cuda | cpu", table=True)
    gpu_name: str | None = _f("CUDA device name", table=True, gpu=True)
    batch_probe: str | None = _f("how --batch-size auto chose the batch: the sizes tried and the memory they used")
    steps: int | None = _f("timed steps", table=True)
    warmup_steps: int | None = _f("untimed steps before them", table=True)
    wall_s: float | None = _f("wall time of the measuring process", "s", table=True)
    error: str | None = _f("last line of the error of a measurement that did not finish", table=True)
    kind: str = _f("always 'profile'", default="profile")
    model_id: str | None = _f("checkpoint of a pretrained runner")
    checkpoint_revision: str | None = _f("the weights measured: as in run records ('random init' for --random-init)")
    s_per_step_mean: float | None = _f("mean seconds per timed step", "s")
    padded_tokens_per_s: float | None = _f("tokens per second, padding included", "1/s")
    model_gpu_mem_mb: float | None = _f("CUDA memory of the built model", "MB", gpu=True)
    step_gpu_mem_mb: float | None = _f("peak CUDA memory the steps add over the model", "MB", gpu=True)
    model_cpu_rss_mb: float | None = _f("RSS once the model is built", "MB")
    dense_params: int | None = _f("weights every token is multiplied by (the FLOPs formula's N)")
    peak_flops_source: str | None = _f("where peak_flops_per_s comes from")
    attn_implementation: str | None = _f("attention kernels (sdpa, eager, …)")
    gpu_driver: str | None = _f("NVIDIA driver version", gpu=True)
    torch_threads: int | None = _f("torch CPU threads")
    finished_at: str | None = _f("UTC time the record was written (ISO 8601)")
    environment: dict | None = _f("library versions, device, git revision")
    config: dict | None = _f("the runner's parameters")
    schema_version: int = _f("version of this record layout", default=SCHEMA_VERSION)
