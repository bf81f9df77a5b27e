"""What `bench profile` measures: its options as one frozen dataclass, and the (runner, length) jobs they make,
every one checked before anything runs or is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError
from bench.profile.child import ProfileJob
from bench.results.store import ResultStore

DEFAULT_LENGTHS = (512, 1024, 2048, 4096)
MODES = ("train", "infer")


@dataclass(frozen=True)
class ProfileOptions:
    """Attributes:
    runners: Runners to measure (default: the demo suite's).
    lengths: Sequence lengths in tokens.
    batch_size: Documents per step, or "auto" (the largest that fits).
    mode: train (forward, backward, optimizer step) or infer (no-grad forward).
    steps: Timed steps per length; warmup: untimed steps before them.
    threads: torch CPU threads (None: torch's default).
    results: The results folder (records go to `<results>/profile/`).
    random_init: Measure pretrained runners' architectures with random weights (no checkpoint needed).
    """

    runners: Sequence[str] | None = None
    lengths: Sequence[int] = DEFAULT_LENGTHS
    batch_size: int | str = 1  # or "auto": the largest batch whose step fits (the CLI's default on a GPU)
    mode: str = "train"
    steps: int = 5
    warmup: int = 2
    threads: int | None = None
    results: Path = Path("results")
    random_init: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", Path(self.results))
        object.__setattr__(self, "lengths", tuple(sorted(set(self.lengths))))
        if self.mode not in MODES:
            raise BenchError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        for name, low in ((("batch_size", 1),) if self.batch_size != "auto" else ()) + (("steps", 1), ("warmup", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise BenchError(f"{name} must be an integer >= {low}, got {value!r}")
        if not self.lengths or any(isinstance(n, bool) or not isinstance(n, int) or n <= 0 for n in self.lengths):
            raise BenchError(f"lengths must be positive token counts, got {list(self.lengths)!r}")


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


def plan_profile(options: ProfileOptions) -> list[ProfileJob]:
    """Every (runner, length) job, checked before anything runs or is written."""
    from bench.runners import TransformerRunner, build_runner, run_name

    store = ResultStore(options.results)
    names = list(options.runners or [])
    if not names:
        from bench.data.suite import load_suite

        names = [ref.runner for ref in load_suite("demo").runners]
    jobs = []
    for name in names:
        default = build_runner(name, random_init=options.random_init)  # an unknown name fails here, with suggestions
        if not isinstance(default, TransformerRunner):
            raise BenchError(f"runner '{name}' is not a transformer model; bench profile measures transformer runners")
        limit = length_limit(name, default)
        too_long = [  # a chunked runner gives the model one chunk at a time, whatever the length
            n
            for n in options.lengths
            if limit is not None
            and build_runner(name, {"max_length": n}, options.random_init).positions_needed() > limit
        ]
        if too_long:
            raise BenchError(
                f"runner '{name}' has positions for {limit} tokens; length(s) {', '.join(map(str, too_long))} "
                f"exceed it (pass --lengths up to {limit})"
            )
        for length in options.lengths:
            runner = build_runner(name, {"max_length": length}, options.random_init)  # a length it refuses fails here
            recorded = run_name(name, runner)  # random-init measurements are kept apart from the checkpoint's
            path = store.profile_record_path(recorded, options.mode, options.batch_size, length)
            o = options
            jobs.append(ProfileJob(recorded, runner, length, o.mode, o.batch_size, o.steps, o.warmup, path, o.threads))
    return jobs
