"""The training and evaluation protocol, written once and identical for every runner of a suite.

Train on `train`, evaluate on `validation` every epoch, keep the epoch with the best validation metric, then
evaluate `test` exactly once with that checkpoint. Never select on test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import Trainer, TrainingArguments, set_seed

from bench.config import COMPILE_BUCKET, EnergyConfig, ProtocolConfig
from bench.data import SuiteData, texts_of
from bench.gpu import GpuMemory
from bench.host import mixed_precision, peak_cpu_rss_mb
from bench.runners import TransformerRunner, probe
from bench.runners.tokenizers import tokenizer_source
from bench.tasks.single_label_metrics import classification_metrics  # noqa: F401  (the tests' name)
from bench.train.callbacks import Phase
from bench.train.distributed import reduce
from bench.train.encoding import InMemorySplit, RunnerCollator, encode, tokenize
from bench.train.energy import EnergyMeter
from bench.train.measure import ThroughputCallback, TokenCounter, Totals
from bench.train.progress import EpochProgress
from bench.train.tracking import Tracking, attach


def _cache_package_checks() -> None:
    """accelerate asks importlib whether `lomo_optim` is installed twice per optimizer step (a path search, ~0.4 ms
    each on a 2-core machine: a tenth of a small model's step on a GPU). What is installed does not change during a
    run, so the answer is kept after the first question."""
    import functools

    import accelerate.accelerator
    import accelerate.optimizer

    for module in (accelerate.optimizer, accelerate.accelerator):
        check = getattr(module, "is_lomo_available", None)
        if check is not None and not hasattr(check, "cache_info"):
            module.is_lomo_available = functools.cache(check)


class CountingTrainer(Trainer):
    """Trainer that counts the tokens of every micro-batch it trains on (for honest tokens/s)."""

    def __init__(
        self, *args: Any, counter: TokenCounter, measures: ThroughputCallback | None = None, **kwargs: Any
    ) -> None:
        _cache_package_checks()
        super().__init__(*args, **kwargs)
        self.counter = counter
        self.measures = measures
        # Classification models take **kwargs, so transformers 5 assumes their loss is normalised over the whole
        # accumulated batch (num_items_in_batch) and skips dividing by the accumulation steps; their loss is a
        # per-micro-batch mean. False: the Trainer divides, and counts no items per step (a reduction, on a GPU a sync).
        self.model_accepts_loss_kwargs = False
        self._dense_params: int | None = None

    def _save_checkpoint(self, model, trial):
        # bench's measured totals go into the checkpoint before the Trainer's own files: a checkpoint counts as
        # complete only once trainer_state.json (written last) exists, so every resumable checkpoint carries them
        if self.measures is not None:
            self.measures.save(Path(self.args.output_dir) / f"checkpoint-{self.state.global_step}")
        super()._save_checkpoint(model, trial)

    def training_step(self, model, inputs, num_items_in_batch=None):
        self.counter.add(inputs)
        return super().training_step(model, inputs, num_items_in_batch)

    def _get_train_sampler(self, train_dataset=None):
        # the same length-grouped sampler as the Trainer's, given the lengths as a list: reading them from a
        # datasets column went row by row at every epoch's start (half a second per 2,000 documents)
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if self.args.train_sampling_strategy == "group_by_length" and isinstance(dataset, InMemorySplit):
            from transformers.trainer_pt_utils import LengthGroupedSampler

            batch = self.args.train_batch_size * self.args.gradient_accumulation_steps
            return LengthGroupedSampler(batch, lengths=dataset.lengths)
        return super()._get_train_sampler(train_dataset)

    def floating_point_ops(self, inputs) -> int:
        # the Trainer's estimate (6 x tokens x parameters, for `total_flos`) counted the parameters again every
        # step; bench counts model FLOPs itself (bench.profile.flops)
        if self._dense_params is None:
            self._dense_params = (
                self.model.num_parameters(exclude_embeddings=True) if hasattr(self.model, "num_parameters") else 0
            )
        return 6 * inputs["input_ids"].numel() * self._dense_params

    def _get_eval_sampler(self, eval_dataset):
        # transformers 5 also length-groups evaluation batches, in a shuffled order; predictions must line up with
        # the examples, so evaluation reads in order (the eval splits are pre-sorted by length, for tight padding).
        return torch.utils.data.SequentialSampler(eval_dataset)


@dataclass
class BenchTrainingArguments(TrainingArguments):
    """TrainingArguments that carry the run's record config: every tracker integration logs `args.to_dict()` as the
    run's settings, so a field here reaches all of them, whatever the model (the chunk runners' has no `config`)."""

    bench: dict = field(default_factory=dict, metadata={"help": "the bench record's config of this run"})


def training_arguments(
    protocol: ProtocolConfig, seed: int, output_dir: Path, tracking: Tracking | None = None, world_size: int = 1
) -> TrainingArguments:
    """The protocol as TrainingArguments on one device per process; the effective batch is the same whatever the
    micro-batch and the number of processes (micro-batch x processes x accumulation steps).

    A run's worker sees one GPU (`bench.host.pin_one_gpu`): with several, the Trainer would silently wrap the model
    in `nn.DataParallel` and multiply the effective batch by the number of GPUs. A distributed run's ranks each use
    the GPU of their local rank (NCCL), or the CPU (gloo)."""
    if "auto" in (protocol.per_device_batch_size, protocol.eval_batch_size):
        raise ValueError("the protocol's auto batch sizes are resolved by bench.runners.probe.batch_sizes first")
    distributed_cpu = world_size > 1 and not torch.cuda.is_available()
    cuda = torch.cuda.is_available()
    return BenchTrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=protocol.epochs,
        learning_rate=protocol.learning_rate,
        weight_decay=protocol.weight_decay,
        lr_scheduler_type=protocol.lr_scheduler,
        warmup_steps=protocol.warmup_ratio,  # a float below 1 is a fraction of all steps in transformers 5
        max_grad_norm=protocol.max_grad_norm,
        per_device_train_batch_size=protocol.per_device_batch_size,
        gradient_accumulation_steps=protocol.batch_size // (protocol.per_device_batch_size * world_size),
        per_device_eval_batch_size=protocol.eval_batch_size,
        activation_checkpointing=protocol.gradient_checkpointing,
        torch_compile=protocol.compile,
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="epoch",
        load_best_model_at_end=True,
        metric_for_best_model=protocol.metric_for_best_model,
        greater_is_better=protocol.metric_for_best_model != "loss",
        save_total_limit=1,  # with load_best_model_at_end the best checkpoint is always kept too
        train_sampling_strategy="group_by_length",
        length_column_name="length",
        seed=seed,
        data_seed=seed,
        report_to=list(tracking.report_to) if tracking else "none",
        run_name=tracking.run_name if tracking else None,
        bench=tracking.config if tracking else {},
        disable_tqdm=True,  # the log gets the Trainer's plain log lines; the console gets EpochProgress's
        # on a GPU, batches are fetched and collated in worker processes while the device computes; on a CPU the
        # workers would take cores from the model
        dataloader_num_workers=2 if cuda else 0,
        dataloader_persistent_workers=cuda,
        dataloader_prefetch_factor=4 if cuda else None,
        dataloader_pin_memory=cuda,
        # no host syncs per step: batches are copied asynchronously from pinned memory, and the loss is not checked
        # for NaN/inf every micro-batch (the logged epoch loss still shows a diverged run)
        accelerator_config={"non_blocking": torch.cuda.is_available()},
        logging_nan_inf_filter=False,
        remove_unused_columns=False,
        fp16=mixed_precision(protocol.mixed_precision) == "fp16",
        bf16=mixed_precision(protocol.mixed_precision) == "bf16",
        use_cpu=distributed_cpu,  # accelerate starts gloo on a CPU only when told it is one
        ddp_backend="gloo" if distributed_cpu else None,
    )


def train_and_evaluate(
    runner: TransformerRunner,
    data: SuiteData,
    protocol: ProtocolConfig,
    seed: int,
    checkpoints: Path,
    resume_from: Path | None = None,
    tracking: Tracking | None = None,
    world_size: int = 1,
    test: bool = True,
    energy: EnergyConfig | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Fine-tune `runner` under the protocol; return the run's record fields and its per-example test predictions
    (with `test` False, a tuning grid's point: validation only, no test pass, no predictions).

    In a distributed run (`world_size` > 1, started by `bench.train.distributed`) every rank calls this; batches are
    sharded over the ranks, the test predictions are gathered in the test set's order, and the measurements are
    reduced over the ranks at the end.

    The fields include `earlier_wall_s`, the wall time of the processes that trained this run before this one
    (0 unless resumed), which the job adds to its own wall time.

    A checkpoint is saved into `checkpoints` after every epoch; `resume_from` (one of them, from an interrupted run
    of the same configuration) continues training where it stopped, with its optimizer, schedule and RNG states.
    `tracking` reports the run to experiment trackers through the Trainer's integrations; `energy`: the grid of its CO2.
    """
    started = time.perf_counter()
    set_seed(seed)
    train_texts = data.splits["train"]
    tokenizer = runner.build_tokenizer(lambda: texts_of(train_texts))
    inputs = encode(tokenize(data.splits, tokenizer), runner, tokenizer)
    for split in ("validation", "test"):  # longest first: a batch that does not fit fails at once, not at the end
        inputs[split] = inputs[split].sort("length", reverse=True)
    n_labels, task = len(data.label_names), data.kind
    collator = RunnerCollator(
        tokenizer, runner, COMPILE_BUCKET if protocol.compile else None, task.n_float_labels(n_labels)
    )
    protocol, probed = probe.batch_sizes(
        runner,
        data.label_names,
        inputs["train"],
        inputs["validation"],
        collator,
        protocol,
        world_size,
        lambda: _autocast(protocol),
    )
    protocol = _same_on_every_rank(protocol)
    prepared_s = time.perf_counter() - started

    set_seed(seed)  # the model's initial weights depend on the seed alone, not on what ran before
    model = runner.build_model(data.label_names)
    if task.problem_type:  # the head and its loss (softmax and cross-entropy, a sigmoid per label and BCE, ...)
        runner.model_config(model).problem_type = task.problem_type
    counter = TokenCounter()
    args = training_arguments(protocol, seed, checkpoints, tracking, world_size)
    positive = data.positive_id

    def compute_metrics(pred) -> dict[str, float]:  # with the decision (e.g. a threshold) fitted on this pass
        return task.validation_metrics(pred.label_ids, pred.predictions, n_labels, positive)

    model_columns = ["input_ids", "attention_mask", "length", "label"]
    with GpuMemory() as gpu:
        carried = Totals.read(resume_from) if resume_from else None
        meter = EnergyMeter.start(energy) if world_size == 1 else None  # ranks would count one machine N times
        throughput = ThroughputCallback(counter, protocol.throughput_warmup_steps, carried, gpu, started, meter)
        phase = Phase()
        trainer = CountingTrainer(
            model=model,
            args=args,
            train_dataset=InMemorySplit(inputs["train"]),
            eval_dataset=inputs["validation"].select_columns(model_columns),
            data_collator=collator,
            compute_metrics=compute_metrics,
            processing_class=tokenizer,
            callbacks=[throughput, phase, EpochProgress(protocol.metric_for_best_model, protocol.epochs)],
            counter=counter,
            measures=throughput,
        )
        if tracking:
            attach(trainer, tracking)
        try:
            trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
            epochs, best_epoch = _epoch_history(trainer)
            if not test:  # a grid point is chosen on validation alone: the test split stays untouched
                shape = {
                    "n_params": sum(p.numel() for p in model.parameters()),
                    "n_train": len(inputs["train"]),
                    "n_val": len(inputs["validation"]),
                    "micro_batch_size": protocol.per_device_batch_size,
                }
                fields = {"best_epoch": best_epoch, "n_epochs": protocol.epochs, "epochs": epochs, **shape}
                return {**fields, **throughput.record_fields(), "prepare_s": prepared_s}, []

            # the single touch of the test split, with the checkpoint chosen on validation
            phase.name = "eval"
            test = inputs["test"]
            _free_training_state(trainer)  # the test pass's memory is inference memory
            gpu.reset()
            energy_before = gpu.energy_j()
            eval_started = time.perf_counter()
            output = trainer.predict(test.select_columns(model_columns), metric_key_prefix="test")
            eval_peak = gpu.phase_peaks()  # synchronizes
            eval_s = time.perf_counter() - eval_started
            energy_after = gpu.energy_j()
        except Exception as err:  # what the job's failure record says, and what an out-of-memory retry makes smaller
            err.record_fields = {
                "oom_phase": phase.name,
                "micro_batch_size": protocol.per_device_batch_size,
                "eval_batch_size": protocol.eval_batch_size,
                "gradient_checkpointing": protocol.gradient_checkpointing,
                **probed,
            }
            raise

    labels = task.targets(test["label"], n_labels)
    if len(output.predictions) != len(test) or not np.array_equal(np.asarray(output.label_ids), labels):
        # the ranks' shards gathered out of order (or padded): predictions would not line up with the test ids
        raise RuntimeError(f"test predictions do not line up with the {len(test)} test documents")
    eval_s, rss_mb, *eval_peak = reduce([eval_s, peak_cpu_rss_mb(), *eval_peak], "max")
    (eval_energy_j,) = reduce(
        [None if energy_before is None or energy_after is None else energy_after - energy_before], "sum"
    )
    peak_mb = reduce([gpu.allocated_mb, gpu.reserved_mb, gpu.nvml_mb], "max")
    decision = task.decision_of(next((e for e in epochs if e["epoch"] == best_epoch), {}))  # the chosen epoch's
    scores = task.probabilities(output.predictions)
    quality = task.record_fields(labels, scores, decision, data)
    predictions = task.prediction_rows(test["id"], labels, scores, decision, data.label_names, test["n_tokens"])
    metrics = {
        **quality,
        "best_epoch": best_epoch,
        "n_epochs": protocol.epochs,
        "epochs": epochs,
        **throughput.record_fields(),
        "eval_samples_per_s": len(test) / eval_s,
        "prepare_s": prepared_s,
        "tokenizer": tokenizer_source(tokenizer),
        "checkpoint_revision": runner.checkpoint_revision(model),
        "peak_gpu_mem_mb": peak_mb[0],  # the whole run: training, validation and test
        "peak_gpu_mem_reserved_mb": peak_mb[1],
        "peak_gpu_mem_nvml_mb": peak_mb[2],
        "peak_gpu_mem_eval_mb": eval_peak[0],
        "peak_gpu_mem_eval_reserved_mb": eval_peak[1],
        "peak_gpu_mem_eval_nvml_mb": eval_peak[2],
        "eval_energy_j": eval_energy_j,
        "gpu_name": gpu.gpu_name,
        "gpu_driver": gpu.driver,
        "gpu_uuid": gpu.uuid,
        "nvml_scope": gpu.scope,
        "gpu_shared": gpu.shared,
        "peak_cpu_rss_mb": rss_mb,
        "n_params": sum(p.numel() for p in model.parameters()),
        "attn_implementation": getattr(runner.model_config(model), "_attn_implementation", None),
        "n_train": len(inputs["train"]),
        "n_train_split": data.n_train_split,
        "n_val": len(inputs["validation"]),
        "n_test": len(test),
        "micro_batch_size": protocol.per_device_batch_size,
        "eval_batch_size": protocol.eval_batch_size,
        "gradient_checkpointing": protocol.gradient_checkpointing,
        **probed,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "mixed_precision": "bf16" if args.bf16 else "fp16" if args.fp16 else "no",
        "facts": runner.run_facts(model),  # what only the runner knows about the run (e.g. BigBird's attention type)
    }
    return metrics, predictions


def _free_training_state(trainer: Trainer) -> None:
    """Drop what only training needs (the optimizer's states, the gradients) and hand the allocator's cached blocks
    back, so that the test pass's peak is what inference takes, not inference on top of training's leftovers."""
    import gc

    optimizer = getattr(trainer.optimizer, "optimizer", trainer.optimizer)  # accelerate wraps the torch optimizer
    if optimizer is not None:
        optimizer.state.clear()
    trainer.model.zero_grad(set_to_none=True)
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _autocast(protocol: ProtocolConfig):
    """The autocast the Trainer trains under with this protocol (for the batch-size probe's steps)."""
    import contextlib

    precision = mixed_precision(protocol.mixed_precision)
    if precision in ("bf16", "fp16") and torch.cuda.is_available():
        return torch.autocast("cuda", dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
    return contextlib.nullcontext()


def _same_on_every_rank(protocol: ProtocolConfig) -> ProtocolConfig:
    """In a distributed run every rank probes on its own shard of the device: all of them take the smallest
    micro-batch and evaluation batch any chose (and checkpointing if any needs it), so their steps line up."""
    import dataclasses

    micro, evaluation, checkpointing = reduce(
        [-protocol.per_device_batch_size, -protocol.eval_batch_size, float(protocol.gradient_checkpointing)], "max"
    )
    return dataclasses.replace(
        protocol,
        per_device_batch_size=int(-micro),
        eval_batch_size=int(-evaluation),
        gradient_checkpointing=bool(checkpointing),
    )


def _epoch_history(trainer: Trainer) -> tuple[list[dict[str, Any]], int | None]:
    """Per-epoch train loss and validation metrics from the log, and the epoch the best checkpoint came from."""
    by_epoch: dict[int, dict[str, Any]] = {}
    step_epoch: dict[int, int] = {}
    for entry in trainer.state.log_history:
        if "epoch" not in entry:
            continue
        epoch = round(entry["epoch"])
        row = by_epoch.setdefault(epoch, {"epoch": epoch})
        if "loss" in entry:
            row["train_loss"] = entry["loss"]
        for key, value in entry.items():
            if key.startswith("eval_") and not key.endswith(("_runtime", "_per_second")):
                row["val_" + key[5:]] = value
                step_epoch[entry["step"]] = epoch
    best_step = getattr(trainer.state, "best_global_step", None)
    return [by_epoch[e] for e in sorted(by_epoch)], step_epoch.get(best_step)
