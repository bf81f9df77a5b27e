"""Per-run epoch checkpoints kept for resuming: which one to resume from, and when to throw them away.

A run's checkpoints live in `runs/<runner>/seed<k>.checkpoints/`, next to its record, with `bench-run.json` naming
the exact configuration they belong to. A rerun resumes only from checkpoints of the same configuration, and only
from a complete one: `Trainer` writes `trainer_state.json` last, so a checkpoint whose state file parses and whose
weights, optimizer and RNG state are present was fully written before any interruption.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from bench.results.store import atomic_write_text

FINGERPRINT = "bench-run.json"
_NEEDED = ("trainer_state.json", "optimizer.pt", "scheduler.pt")
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def is_complete(checkpoint: Path) -> bool:
    """Whether `checkpoint` (a `checkpoint-<step>` folder) was written to the end."""
    if not all((checkpoint / name).is_file() for name in _NEEDED):
        return False
    if not any((checkpoint / name).is_file() for name in _WEIGHTS) or not list(checkpoint.glob("rng_state*.pth")):
        return False
    try:
        json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def latest(folder: Path) -> Path | None:
    """The complete checkpoint with the highest step in `folder`, if any."""
    steps = []
    for path in folder.glob("checkpoint-*"):
        suffix = path.name.removeprefix("checkpoint-")
        if suffix.isdigit() and is_complete(path):
            steps.append((int(suffix), path))
    return max(steps)[1] if steps else None


def epoch_of(checkpoint: Path) -> int:
    """The (whole) epoch a per-epoch checkpoint was saved after."""
    state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    return round(state.get("epoch") or 0)


def prepare(folder: Path, fingerprint: dict[str, Any]) -> tuple[Path | None, str | None]:
    """Make `folder` ready for a run of configuration `fingerprint`.

    Returns the checkpoint to resume from (or None) and, when old checkpoints were thrown away, why.
    """
    wanted = json.dumps(fingerprint, sort_keys=True, default=str)
    note = None
    if folder.exists():
        try:
            found = json.dumps(json.loads((folder / FINGERPRINT).read_text(encoding="utf-8")), sort_keys=True)
        except (OSError, ValueError):
            found = None
        resume = latest(folder) if found == wanted else None
        if resume is not None:
            return resume, None
        if found is not None and found != wanted:
            note = "the run's configuration changed since its checkpoints were saved; starting it again"
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)  # the machines of a multi-node run prepare it together
    atomic_write_text(folder / FINGERPRINT, wanted + "\n")
    return None, note


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
