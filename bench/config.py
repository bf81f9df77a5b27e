"""Plain frozen config dataclasses for suites, their data, runners and the training protocol."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any

import bench.tasks as tasks
from bench.errors import BenchError

PRECISIONS = ("auto", "no", "fp16", "bf16")
SOURCES = ("hub", "files", "synthetic")
# the built-in tasks' names (`bench.tasks`: one class per kind, which also says what a run may select its best epoch
# on: `Task.selection_metrics`, the first the default)
SINGLE_LABEL, MULTILABEL = "single_label", "multilabel"
TRACKERS = ("tensorboard", "wandb", "mlflow", "trackio")  # experiment trackers of transformers' integrations
AUTO = "auto"  # a batch size sized to the device before training
COMPILE_BUCKET = 64  # with protocol.compile, batches are padded to a multiple of this many tokens


# learning-rate schedules every transformers bench supports has (transformers.SchedulerType), accepted without
# importing transformers (which imports torch: seconds `bench list` should not spend); any other name is looked up
# in the installed transformers' SchedulerType (`lr_schedulers`), so a schedule a newer release adds works too
COMMON_LR_SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup")


def _positive_int(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BenchError(f"{owner}: {name} must be a positive integer, got {value!r}")


def _number(owner: str, name: str, value: Any, what: str, ok: bool) -> None:
    """Refuse a value that is not a number (YAML's `true` is one to Python: refused too) or not `ok`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not ok:
        raise BenchError(f"{owner}: {name} must be {what}, got {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def lr_schedulers() -> list[str]:
    """The learning-rate schedules the installed transformers knows (`transformers.SchedulerType`; imports torch)."""
    from transformers.trainer_utils import SchedulerType

    return [s.value for s in SchedulerType]


def _check_lr_scheduler(owner: str, value: Any) -> None:
    if isinstance(value, str) and value in COMMON_LR_SCHEDULERS:
        return
    known = lr_schedulers()
    if isinstance(value, str) and value in known:
        return
    close = difflib.get_close_matches(str(value), known, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise BenchError(f"{owner}: lr_scheduler {value!r} is not a transformers schedule.{hint} Known: {', '.join(known)}")


@dataclass(frozen=True)
class ProtocolConfig:
    """The training/evaluation protocol, identical for every runner of a suite.

    Defaults follow the Longformer-on-IMDB tutorial this project grew from.
    """

    epochs: int = 5
    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    batch_size: int = 32  # effective: per_device_batch_size x gradient accumulation (x devices)
    # or "auto": the largest divisor of batch_size that fits the device, probed before training (bench.runners.probe)
    per_device_batch_size: int | str = 8
    eval_batch_size: int | str = 32  # or "auto", likewise
    warmup_ratio: float = 0.1
    lr_scheduler: str = "linear"
    max_grad_norm: float = 1.0
    mixed_precision: str = "auto"  # auto: bf16 where the GPU supports it, else fp16; none on CPU
    gradient_checkpointing: bool = False
    validation_fraction: float = 0.1
    split_seed: int = 42  # the validation split is the same for every runner and seed
    metric_for_best_model: str = "accuracy"
    throughput_warmup_steps: int = 2  # optimizer steps left out of throughput
    # torch.compile the model (the Trainer's torch_compile); batches are padded to a multiple of COMPILE_BUCKET
    # tokens so that a few shapes are compiled, not one per length; the first compilations fall in the warm-up steps
    compile: bool = False

    def __post_init__(self) -> None:
        owner = "protocol"
        for name in ("epochs", "batch_size"):
            _positive_int(owner, name, getattr(self, name))
        for name in ("per_device_batch_size", "eval_batch_size"):
            if getattr(self, name) != AUTO:
                try:
                    _positive_int(owner, name, getattr(self, name))
                except BenchError:
                    raise BenchError(
                        f"{owner}: {name} must be a positive integer or auto, got {getattr(self, name)!r}"
                    ) from None
        if not isinstance(self.compile, bool):
            raise BenchError(f"{owner}: compile must be true or false, got {self.compile!r}")
        if not isinstance(self.gradient_checkpointing, bool):
            raise BenchError(
                f"{owner}: gradient_checkpointing must be true or false, got {self.gradient_checkpointing!r}"
            )
        if self.per_device_batch_size != AUTO and self.batch_size % self.per_device_batch_size:
            raise BenchError(
                f"protocol: batch_size ({self.batch_size}) must be a multiple of per_device_batch_size "
                f"({self.per_device_batch_size}); the difference is made up by gradient accumulation"
            )
        # a bool is an int to Python, and `true` a number to YAML: each check refuses it (`_number`)
        fraction = self.validation_fraction
        _number(owner, "validation_fraction", fraction, "between 0 and 1", _is_number(fraction) and 0 < fraction < 1)
        rate = self.learning_rate
        _number(owner, "learning_rate", rate, "a positive number", _is_number(rate) and rate > 0)
        for name in ("weight_decay", "max_grad_norm"):  # max_grad_norm 0: no clipping
            value = getattr(self, name)
            _number(owner, name, value, "a number, 0 or more", _is_number(value) and value >= 0)
        for name in ("split_seed", "throughput_warmup_steps"):
            value = getattr(self, name)
            _number(owner, name, value, "an integer, 0 or more", isinstance(value, int) and value >= 0)
        _check_lr_scheduler(owner, self.lr_scheduler)
        if self.mixed_precision not in PRECISIONS:
            raise BenchError(
                f"protocol: mixed_precision must be one of {', '.join(PRECISIONS)}, got {self.mixed_precision!r}"
            )
        warmup = self.warmup_ratio
        _number(owner, "warmup_ratio", warmup, "in [0, 1)", _is_number(warmup) and 0 <= warmup < 1)
        known = sorted({m for name in tasks.names() for m in tasks.task_for(name).selection_metrics})
        if self.metric_for_best_model not in known:
            raise BenchError(f"protocol: metric_for_best_model must be one of {', '.join(known)}")

    @property
    def gradient_accumulation_steps(self) -> int | None:
        """Micro-batches per optimizer step on one process; None while the micro-batch is still `auto`."""
        if self.per_device_batch_size == AUTO:
            return None
        return self.batch_size // self.per_device_batch_size


@dataclass(frozen=True)
class DataConfig:
    """Where a suite's documents come from and which columns hold text and label."""

    source: str  # hub | files | synthetic
    path: str | None = None  # hub id (source=hub)
    revision: str | None = None  # pinned hub revision
    name: str | None = None  # hub config name
    files: dict[str, str] = field(default_factory=dict)  # split -> file, relative to the suite file or --data-dir
    synthetic: dict[str, Any] = field(default_factory=dict)  # generator parameters (source=synthetic)
    # a column, or a list of them: the first the data has (a hub copy and a local one may name it differently)
    text_column: str | tuple[str, ...] = "text"
    label_column: str | tuple[str, ...] = "label"
    id_column: str | tuple[str, ...] | None = None
    label_names: tuple[str, ...] | None = None  # names for integer labels, in id order
    positive_label: str | None = None  # the class binary F1/precision/recall are for (default: the second label)
    train_split: str = "train"
    test_split: str = "test"
    task: str = SINGLE_LABEL  # multilabel: label_column holds a list of label names (strings) or ids (ints)
    labels: tuple[str, ...] | None = None  # multilabel: the label names in order (else the sorted union over train)
    allow_empty_labels: bool = False  # multilabel: whether a document may have no label at all
    # multilabel: a JSON file (a list of label names, or a mapping whose keys are), relative to --data-dir or the
    # suite file: the label space, in order, as data.labels would give it
    labels_file: str | None = None
    # the data's own validation split (a file in --data-dir, or a hub split), used to select epochs, settings and
    # thresholds; None: carved from train (protocol.validation_fraction)
    validation_split: str | None = None
    reverse_paragraphs: bool = False  # each document's newline-separated paragraphs in reverse order

    def __post_init__(self) -> None:
        if self.task not in tasks.names():
            raise BenchError(f"suite data: task must be one of {', '.join(tasks.names())}, got {self.task!r}")
        for name in ("text_column", "label_column", "id_column"):
            _column_names(self, name)
        for name in ("labels_file", "validation_split"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and value):
                raise BenchError(f"suite data: {name} must be a file or split name, got {value!r}")
        if not isinstance(self.reverse_paragraphs, bool):
            raise BenchError(f"suite data: reverse_paragraphs must be true or false, got {self.reverse_paragraphs!r}")
        tasks.task_for(self.task).check_data(self)
        if not isinstance(self.allow_empty_labels, bool):
            raise BenchError(f"suite data: allow_empty_labels must be true or false, got {self.allow_empty_labels!r}")
        if self.labels is not None:
            names = list(self.labels)
            if len(names) < 2 or not all(isinstance(n, str) and n for n in names):
                raise BenchError(f"suite data: labels must list two or more label names, got {names!r}")
            if len(set(names)) != len(names):
                dupes = sorted({n for n in names if names.count(n) > 1})
                raise BenchError(f"suite data: labels lists {', '.join(dupes)} more than once")
        if self.source not in SOURCES:
            raise BenchError(f"suite data: source must be one of {', '.join(SOURCES)}, got {self.source!r}")
        if self.source == "hub" and not self.path:
            raise BenchError("suite data: source 'hub' needs a 'path' (the hub dataset id)")
        if self.source == "files" and not self.files:
            raise BenchError("suite data: source 'files' needs 'files' mapping train/test to file names")
        if self.label_names is not None:
            names = list(self.label_names)
            if len(names) < 2 or not all(isinstance(n, str) and n for n in names):
                raise BenchError(f"suite data: label_names must list two or more class names, got {names!r}")
            if len(set(names)) != len(names):
                dupes = sorted({n for n in names if names.count(n) > 1})
                raise BenchError(f"suite data: label_names lists {', '.join(dupes)} more than once")


def _column_names(data: DataConfig, name: str) -> None:
    """A column setting is a name or a non-empty list of names (kept as a tuple: the config is frozen)."""
    value = getattr(data, name)
    if value is None and name == "id_column":
        return
    names = list(value) if isinstance(value, list | tuple) else [value]
    if not names or not all(isinstance(n, str) and n for n in names):
        raise BenchError(f"suite data: {name} must be a column name or a list of them, got {value!r}")
    object.__setattr__(data, name, names[0] if isinstance(value, str) else tuple(names))


@dataclass(frozen=True)
class RunnerRef:
    """A runner named in a suite, with parameter overrides and an optional display name."""

    runner: str
    params: dict[str, Any] = field(default_factory=dict)
    alias: str | None = None

    @property
    def name(self) -> str:
        return self.alias or self.runner


# what a published figure may measure: the records' metric fields of the same names (single- and multi-label)
REFERENCE_METRICS = ("accuracy", "f1", "macro_f1", "micro_f1", "samples_f1")


@dataclass(frozen=True)
class Reference:
    """A published result a suite's report shows beside the measured runners of the same `family`."""

    family: str  # a runner family (`bench list` shows each runner's), e.g. roberta, longformer, bigbird
    model: str  # what was measured, in words: "RoBERTa-base, first 512 tokens"
    accuracy: float | None = None  # test accuracy as a fraction (0.953, not 95.3); or `metric` + `value`
    source: str = ""  # who published it and where: "Beltagy et al. (2020), Longformer, table 7"
    std: float | None = None  # the published spread, where one is given
    url: str | None = None
    note: str | None = None
    # the setting the figure is for: a runner is compared with it only where it reads the same way (each one given
    # must match the runner's; none given: any runner of the family)
    max_length: int | None = None
    attention_window: int | None = None
    truncation: str | None = None
    metric: str = "accuracy"  # what the figure measures (REFERENCE_METRICS): F1 of a binary task, micro-F1 of labels
    value: float | None = None  # the published figure of `metric`, a fraction; `accuracy` says the same for accuracy

    def __post_init__(self) -> None:
        owner = f"reference {self.model or self.family!r}"
        if self.metric not in REFERENCE_METRICS:
            raise BenchError(f"{owner}: 'metric' must be one of {', '.join(REFERENCE_METRICS)}, got {self.metric!r}")
        if self.metric != "accuracy" and self.accuracy is not None:
            raise BenchError(f"{owner}: the figure is {self.metric}, not accuracy: give it as 'value', not 'accuracy'")
        if self.value is None:
            object.__setattr__(self, "value", self.accuracy)
        elif self.metric == "accuracy":
            if self.accuracy is not None and self.accuracy != self.value:
                raise BenchError(
                    f"{owner}: 'accuracy' and 'value' differ ({self.accuracy!r}, {self.value!r}); give one"
                )
            object.__setattr__(self, "accuracy", self.value)
        for name in ("family", "model", "source"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise BenchError(f"{owner}: '{name}' must be a non-empty string, got {value!r}")
        acc, key = self.value, "accuracy" if self.metric == "accuracy" and self.accuracy is not None else "value"
        if isinstance(acc, bool) or not isinstance(acc, int | float) or not 0 < acc <= 1:
            hint = (
                f" (a fraction: {acc / 100:g}, not {acc:g})" if isinstance(acc, int | float) and 1 < acc <= 100 else ""
            )
            raise BenchError(f"{owner}: '{key}' must be a number in (0, 1]{hint}, got {acc!r}")
        if self.std is not None and (
            isinstance(self.std, bool) or not isinstance(self.std, int | float) or self.std < 0
        ):
            raise BenchError(f"{owner}: 'std' must be a non-negative number, got {self.std!r}")
        for name in ("url", "note", "truncation"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise BenchError(f"{owner}: '{name}' must be a string, got {getattr(self, name)!r}")
        for name in ("max_length", "attention_window"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise BenchError(f"{owner}: '{name}' must be a positive integer (tokens), got {value!r}")


# codecarbon's world average (IEA, 2019), the grid intensity a run's CO2 is computed at unless the suite's
# `energy:` names a country or an intensity of its own
WORLD_CARBON_INTENSITY = 475.0  # g CO2eq / kWh


@dataclass(frozen=True)
class EnergyConfig:
    """How a run's electricity becomes CO2-equivalent (`energy:` in a suite; bench.train.energy): the grid's
    intensity in g CO2eq/kWh, given as it is, or as the country whose energy mix codecarbon knows (ISO 3166-1
    alpha-3: FRA, USA, DEU…); neither: the world average. Not part of a run's configuration key: it changes what
    is recorded about a run, not what the run computes."""

    country: str | None = None
    intensity: float | None = None

    def __post_init__(self) -> None:
        if self.country is not None and (
            not isinstance(self.country, str) or len(self.country) != 3 or not self.country.isalpha()
        ):
            raise BenchError(f"energy.country must be a 3-letter ISO 3166-1 code (FRA, USA, DEU), got {self.country!r}")
        if self.intensity is not None and (
            isinstance(self.intensity, bool) or not isinstance(self.intensity, int | float) or self.intensity < 0
        ):
            raise BenchError(f"energy.intensity must be a number of g CO2eq per kWh, 0 or more; got {self.intensity!r}")
        if self.country is not None and self.intensity is not None:
            raise BenchError("energy: give a country or an intensity (g CO2eq/kWh), not both")
        if self.country is not None:
            object.__setattr__(self, "country", self.country.upper())


@dataclass(frozen=True)
class SuiteConfig:
    """A declarative benchmark suite: data, runners, seeds and protocol."""

    name: str
    data: DataConfig
    runners: tuple[RunnerRef, ...]
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    seeds: tuple[int, ...] = (0,)
    description: str = ""
    source_file: str | None = None  # where the suite was read from; relative data paths resolve against it
    report_to: tuple[str, ...] = ()  # experiment trackers (TRACKERS); not part of a run's configuration key
    references: tuple[Reference, ...] = ()  # published results its report shows beside the measured runners
    # protocol setting -> the values every runner is tried at (bench.data.tune); empty: no tuning
    tune: dict[str, tuple] = field(default_factory=dict)
    # not part of a run's configuration key either: what is kept and recorded about a run, not what it computes
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    keep_model: bool = (
        False  # keep each run's best checkpoint (results store: `model_dir`) for `bench publish --models`
    )

    def __post_init__(self) -> None:
        if not isinstance(self.keep_model, bool):
            raise BenchError(f"keep_model must be true or false, got {self.keep_model!r}")
        for name in self.report_to:
            if name not in TRACKERS:
                close = difflib.get_close_matches(name, TRACKERS, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise BenchError(f"report_to: unknown tracker '{name}'.{hint} Available: {', '.join(TRACKERS)}, none.")
        if not self.runners:
            raise BenchError(f"suite '{self.name}' names no runners; add a 'runners:' list")
        names = [r.name for r in self.runners]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise BenchError(f"suite '{self.name}' lists runner(s) {', '.join(dupes)} twice; give each an 'alias'")
        for seed in self.seeds:
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise BenchError(f"suite '{self.name}': seeds must be integers, got {seed!r}")
        allowed = tasks.task_for(self.data.task).selection_metrics
        if self.protocol.metric_for_best_model not in allowed:
            raise BenchError(
                f"suite '{self.name}': metric_for_best_model {self.protocol.metric_for_best_model!r} is not a "
                f"{self.data.task} metric; use one of {', '.join(allowed)}"
            )

    def replace(self, **changes: Any) -> SuiteConfig:
        return dataclasses.replace(self, **changes)


def trackers(value: Any) -> tuple[str, ...]:
    """`report_to` as a tuple of tracker names, from a name, comma-separated names or a list; `none`, an empty list
    or None mean no tracker."""
    if value is None:
        return ()
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise BenchError(f"report_to must be a tracker name or a list of them ({', '.join(TRACKERS)}), got {value!r}")
    stripped = [n.strip() for n in names]
    return tuple(dict.fromkeys(n for n in stripped if n and n != "none"))


def to_dict(obj: Any) -> Any:
    """A JSON-ready plain dict of a config dataclass."""
    return dataclasses.asdict(obj)
