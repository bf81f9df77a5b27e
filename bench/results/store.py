"""The results folder, owned by one object: where every file of a run lives, how records are written and read back
as typed records, the run's lock, and the tables rebuilt from the records alone.

    <root>/<suite>/runs/<runner>/seed<k>.json                 the record (written last: a record means finished)
                                 seed<k>.predictions.csv      its test predictions
                                 seed<k>.log                  everything its processes printed
                                 seed<k>.checkpoints/         epoch checkpoints until it finishes (`bench-run.json`:
                                                              the configuration key they belong to)
                                 seed<k>.checkpoints.stale-<when>/   checkpoints of another configuration, kept
                                 seed<k>.tensorboard/         TensorBoard events (--report-to tensorboard)
                                 seed<k>.model/               the best checkpoint's model, kept (--keep-model)
                                 seed<k>.lock, seed<k>.lock.owner    the run's lock, and who holds it
                                 seed<k>.work/                one try's outcome, staged files, ranks' errors
                                 tune/<point>/seed<k>.*       a tuning grid point's run (`point_name`: `learning_rate=2e-05`),
                                                              the same files (no test predictions: validation only)
    <root>/<suite>/results.csv, references.json, submitit/
    <root>/profile/<runner>/<mode>-b<batch>-L<length>.json, profile.csv

No other module spells a part of this layout. Names that would leave the folder (path separators, `..`, a leading
dot) or take a folder bench uses itself (`profile`) are refused by `check_name`, which suites call when read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.results.files import atomic_write_text, atomic_writer, move_into_place
from bench.results.migrations import migrate
from bench.results.schema import SCHEMA_VERSION, ProfileRecord, Record, RunRecord
from bench.results.tables import profile_table, run_table

PROFILE = "profile"  # <root>/profile/ holds `bench profile`'s records, so no suite may take the name
RESERVED = frozenset({PROFILE})
_RECORD = re.compile(r"seed(-?\d+)\.json")
_UNSAFE = re.compile(r"[/\\\x00]")


def check_name(what: str, name: Any) -> str:
    """`name` if it can name a folder of the results store, else a one-line BenchError saying why (`what`: "suite
    name", "runner alias", ...)."""
    if not isinstance(name, str) or not name.strip():
        raise BenchError(f"{what} must be a non-empty string, got {name!r}")
    if _UNSAFE.search(name) or name in (".", "..") or name.startswith("."):
        raise BenchError(
            f"{what} {name!r} cannot name a folder of the results: no '/', '\\' or leading '.'; use letters, digits, "
            "'-', '_' or '@'"
        )
    return name


def point_name(values: Mapping[str, Any]) -> str:
    """A tuning grid point's stable name, its folder under the runner's `tune/`: `learning_rate=2e-05`, settings
    joined by `,` in sorted order (numbers as Python writes them, so 2e-5 and 0.00002 are one point)."""
    return ",".join(
        f"{name}={value!r}" if not isinstance(value, str) else f"{name}={value}"
        for name, value in sorted(values.items())
    )


@dataclass(frozen=True, order=True)
class RunKey:
    """A run's identity: one (suite, runner, seed), and for a run of a tuning grid's point, that point's name
    (`point_name`; "" for the suite's own run). What makes two runs of it the same run is the configuration key
    (`bench.results.key`)."""

    suite: str
    runner: str
    seed: int
    point: str = ""

    def __post_init__(self) -> None:
        check_name("suite name", self.suite)
        check_name("runner name", self.runner)
        if self.point:
            check_name("tuning point", self.point)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise BenchError(f"seed must be an integer, got {self.seed!r}")

    def __str__(self) -> str:
        return f"{self.runner} {self.point} seed {self.seed}" if self.point else f"{self.runner} seed {self.seed}"

    @property
    def label(self) -> str:
        """`runner/seed<k>` (`runner/<point>/seed<k>`): the run's name in logs, trackers and scheduler bookkeeping."""
        return f"{self.runner}/{self.point + '/' if self.point else ''}seed{self.seed}"

    @property
    def slug(self) -> str:
        """The run's name where only one word fits (process names, rendezvous ids)."""
        point = "-" + re.sub(r"[^A-Za-z0-9.]+", "-", self.point) if self.point else ""
        return f"{self.suite}-{self.runner}{point}-seed{self.seed}"


class Busy(Exception):
    """Another process holds the run's lock."""


@dataclass(frozen=True)
class ResultStore:
    """One results folder (`bench run --results`). Picklable: jobs carry it to their worker processes."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # ---- where things are ----

    def suite_dir(self, suite: str) -> Path:
        if check_name("suite name", suite) in RESERVED:
            raise BenchError(
                f"suite name {suite!r} is reserved: results/{suite}/ holds `bench {suite}`; rename the suite"
            )
        return self.root / suite

    def run_dir(self, key: RunKey) -> Path:
        runner = self.suite_dir(key.suite) / "runs" / key.runner
        return runner / "tune" / key.point if key.point else runner

    def _file(self, key: RunKey, suffix: str) -> Path:
        return self.run_dir(key) / f"seed{key.seed}{suffix}"

    def record_path(self, key: RunKey) -> Path:
        return self._file(key, ".json")

    def predictions_path(self, key: RunKey) -> Path:
        return self._file(key, ".predictions.csv")

    def log_path(self, key: RunKey) -> Path:
        """The run's log: the Trainer's log lines, warnings and tracebacks of every process that worked on it."""
        return self._file(key, ".log")

    def checkpoint_dir(self, key: RunKey) -> Path:
        """Where a run keeps its epoch checkpoints until it finishes (for resuming after an interruption)."""
        return self._file(key, ".checkpoints")

    def stale_checkpoint_dir(self, key: RunKey) -> Path:
        """A free folder to move checkpoints of another configuration to (never deleted by bench)."""
        base = self._file(key, f".checkpoints.stale-{time.strftime('%Y%m%d-%H%M%S')}")
        path, n = base, 1
        while path.exists():
            path, n = base.with_name(f"{base.name}-{n}"), n + 1
        return path

    def model_dir(self, key: RunKey) -> Path:
        """A finished run's model, kept (`keep_model`): the best checkpoint's weights, config and tokenizer."""
        return self._file(key, ".model")

    def tensorboard_dir(self, key: RunKey) -> Path:
        return self._file(key, ".tensorboard")

    def lock_path(self, key: RunKey, per_host: bool = False) -> Path:
        """The run's lock; a run trained by several machines together takes one per machine (`per_host`)."""
        return self._file(key, f".{socket.gethostname()}.lock" if per_host else ".lock")

    def work_dir(self, key: RunKey) -> Path:
        """A try's scratch: its outcome, the files it stages before they replace the run's, its ranks' errors."""
        return self._file(key, ".work")

    def outcome_path(self, key: RunKey) -> Path:
        """Where a worker leaves the record of its try (finished or not) for the process that launched it."""
        return self.work_dir(key) / "outcome.json"

    def rank_error_path(self, key: RunKey, rank: int) -> Path:
        return self.work_dir(key) / f"rank{rank}.error.json"

    def table_path(self, suite: str) -> Path:
        return self.suite_dir(suite) / "results.csv"

    def references_path(self, suite: str) -> Path:
        """The published results the suite's report shows beside its runners (written by `bench run`)."""
        return self.suite_dir(suite) / "references.json"

    def scheduler_dir(self, suite: str) -> Path:
        """submitit's logs and which scheduler job ran which run."""
        return self.suite_dir(suite) / "submitit"

    def profile_dir(self) -> Path:
        return self.root / PROFILE

    def profile_record_path(self, runner: str, mode: str, batch_size: int, seq_len: int) -> Path:
        return self.profile_dir() / check_name("runner name", runner) / f"{mode}-b{batch_size}-L{seq_len}.json"

    def log_pattern(self, suite: str) -> Path:
        """How the logs of a suite's runs are named, for the console."""
        return self.suite_dir(suite) / "runs" / "<runner>" / "seed<k>.log"

    # ---- records ----

    def check_writable(self) -> None:
        """Fail in one line, before anything runs, when results cannot be written here."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".bench-write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as err:
            raise BenchError(f"cannot write to results dir {self.root} ({err.strerror}); pass --results DIR") from None

    def read(self, key: RunKey) -> RunRecord | None:
        """The run's record (older layouts migrated); None where there is none or it cannot be read."""
        record = read_record(self.record_path(key))
        return record if isinstance(record, RunRecord) else None

    def write(self, record: RunRecord) -> Path:
        """Write a run's record in its place, atomically."""
        path = self.record_path(record_key(record))
        write_record(path, record)
        return path

    def write_outcome(self, key: RunKey, record: Record) -> None:
        write_record(self.outcome_path(key), record)

    def read_outcome(self, key: RunKey) -> RunRecord | None:
        record = read_record(self.outcome_path(key))
        return record if isinstance(record, RunRecord) else None

    def stage_predictions(self, key: RunKey, frame: Any) -> None:
        """Write a finished try's predictions beside its outcome; `commit` moves them into place with the record."""
        with atomic_writer(self.work_dir(key) / "predictions.csv") as f:
            frame.to_csv(f, index=False)

    def commit(self, record: RunRecord) -> Path:
        """Make a finished try the run's result: its staged predictions, then its record, each replacing the old
        one by a rename (a reader sees the old pair or the new one, bar the instant between the two renames)."""
        key = record_key(record)
        staged = self.work_dir(key) / "predictions.csv"
        if staged.exists():
            move_into_place(staged, self.predictions_path(key))
        path = self.write(record)
        shutil.rmtree(self.work_dir(key), ignore_errors=True)
        return path

    def keys(self, suite: str) -> list[RunKey]:
        """The runs of `suite` that have a record file, by runner and seed."""
        found = []
        for path in sorted((self.suite_dir(suite) / "runs").glob("*/seed*.json")):
            match = _RECORD.fullmatch(path.name)
            if match and path.is_file():
                found.append(RunKey(suite, path.parent.name, int(match.group(1))))
        return sorted(found)

    def records(self, suite: str) -> list[RunRecord]:
        """Every readable record of `suite` (unreadable ones are skipped: `read_strict` names them)."""
        return [r for k in self.keys(suite) if (r := self.read(k)) is not None]

    def read_strict(self, key: RunKey) -> RunRecord:
        """The run's record, or a BenchError naming the file and the fix where it cannot be read."""
        path = self.record_path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise BenchError(f"cannot read run record {path}: {err}; delete it or re-run that run") from None
        if not isinstance(data, dict):
            raise BenchError(f"run record {path} is not a JSON object; delete it or re-run that run")
        return RunRecord.from_dict(migrate(data, f"run record {path}"))

    def suites(self) -> list[str]:
        """Suites with a runs folder here."""
        return sorted(p.parent.name for p in self.root.glob("*/runs") if p.is_dir() and p.parent.name not in RESERVED)

    def rebuild_table(self, suite: str) -> Path:
        """<root>/<suite>/results.csv, one row per record, rebuilt from the records alone."""
        path = self.table_path(suite)
        atomic_write_text(path, run_table(self.records(suite)).to_csv(index=False))
        return path

    def write_references(self, suite: str, references: list[dict[str, Any]]) -> Path:
        path = self.references_path(suite)
        atomic_write_text(path, json.dumps({"suite": suite, "references": references}, indent=2) + "\n")
        return path

    def profile_records(self) -> Iterator[ProfileRecord]:
        """Every readable profile record, in path order."""
        for path in sorted(self.profile_dir().glob("*/*.json")):
            record = read_record(path)
            if isinstance(record, ProfileRecord):
                yield record

    def rebuild_profile_table(self) -> Path:
        path = self.profile_dir() / "profile.csv"
        table = profile_table(list(self.profile_records()))
        atomic_write_text(path, table.to_csv(index=False, float_format="%.6g"))
        return path

    # ---- the run's lock ----

    @contextmanager
    def lock(self, key: RunKey, per_host: bool = False) -> Iterator[None]:
        """Hold the run's lock (raises `Busy` at once where another process holds it), with an owner file saying
        who holds it, which `lock_owner` reads without taking the lock."""
        from filelock import FileLock, Timeout

        path = self.lock_path(key, per_host)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise Busy(str(key)) from None
        owner = path.with_name(path.name + ".owner")
        try:
            owner_info = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}
            atomic_write_text(owner, json.dumps(owner_info) + "\n")
            yield
        finally:
            owner.unlink(missing_ok=True)
            lock.release()

    def lock_owner(self, key: RunKey) -> dict[str, Any] | None:
        """Who holds the run's lock (`host`, `pid`, `since`), read from its owner file without touching the lock;
        None when nobody does. An owner on this machine whose process is gone (killed) does not count."""
        for path in sorted(self.run_dir(key).glob(f"seed{key.seed}.*lock.owner")):
            try:
                owner = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if owner.get("host") == socket.gethostname() and not _alive(owner.get("pid")):
                continue
            return owner
        return None


def record_key(record: RunRecord) -> RunKey:
    """The identity of the run a record is of."""
    return RunKey(record.suite, record.runner, record.seed, record.tune_point or "")


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def write_record(path: Path, record: Record) -> None:
    """Write a record (a schema dataclass) as JSON at `path`, atomically."""
    data = record.to_dict() if isinstance(record, Record) else {"schema_version": SCHEMA_VERSION, **record}
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def read_record(path: Path) -> RunRecord | ProfileRecord | None:
    """The record at `path` in the current layout (older ones migrated), typed; None where it is missing or
    unreadable.

    Raises:
        BenchError: The record was written by a newer bench.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    data = migrate(data, f"record {path}")
    return (ProfileRecord if data.get("kind") == "profile" else RunRecord).from_dict(data)


def read_json(path: Path) -> Any:
    """A small JSON file of the store's own bookkeeping (None where missing or unreadable)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
