"""Per-run epoch checkpoints kept for resuming: which one to resume from, when to throw them away, and the best
one to keep as the run's model (a suite's `keep_model`, `bench run --keep-model`).

A run's checkpoints live in the folder the results store gives them, next to its record, with `bench-run.json`
holding the configuration key they belong to. A rerun resumes only from checkpoints of the same key, and only from
a complete one: `Trainer` writes `trainer_state.json` last, so a checkpoint whose state file parses and whose
weights, optimizer and RNG state are present was fully written before any interruption.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.results.files import atomic_write_text
from bench.results.key import config_origin, differences, from_config, upgrade
from bench.results.store import read_json

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


def prepare(folder: Path, key: dict[str, Any], stale: Callable[[], Path]) -> tuple[Path | None, str | None]:
    """Make `folder` ready for a run of configuration key `key` (`bench.results.key`).

    Checkpoints of the same key are resumed whatever else changed (the suite's description, the micro-batch after
    running out of memory, where the data folder was spelled). Checkpoints of another key are never deleted: they
    are moved to the free folder `stale()` gives. Returns the checkpoint to resume from (or None) and, when old
    checkpoints were moved aside, a note saying what changed and where they went.
    """
    note = None
    if folder.exists():
        changed = differences(stored_key(folder), key)
        if not changed:
            resume = latest(folder)
            if resume is not None:
                return resume, None
        if changed and latest(folder) is not None:
            aside = stale()
            folder.rename(aside)
            what = "; ".join(changed[:4]) + ("; …" if len(changed) > 4 else "")
            note = f"the run's configuration changed since its checkpoints were saved ({what}); starting it again, the old checkpoints are kept in {aside}"
        else:  # nothing complete to keep: an epoch that never finished saving
            shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)  # the machines of a multi-node run prepare it together
    atomic_write_text(folder / FINGERPRINT, json.dumps({"key": key}, sort_keys=True, default=str) + "\n")
    return None, note


def stored_key(folder: Path) -> dict[str, Any] | None:
    """The configuration key `folder`'s checkpoints belong to, in the current layout (`bench.results.key.upgrade`:
    an older key's `auto` precision stays unresolved, so such checkpoints are kept aside, never resumed on a device
    that may compute in another precision); for checkpoints of bench before keys (their file held the run's whole
    config), the key rebuilt from that config, as for their records."""
    found = read_json(folder / FINGERPRINT)
    if not isinstance(found, dict):
        return None
    if isinstance(found.get("key"), dict):
        return upgrade(found["key"])
    config = found.get("config")
    key = from_config(config) if isinstance(config, dict) else None
    return upgrade(key, config_origin(config)) if key is not None else None


def move_aside(folder: Path, stale: Callable[[], Path]) -> Path | None:
    """Move a run's checkpoints to the free folder `stale()` gives (`--overwrite`: they belong to an earlier try);
    where it went, or None when there were none worth keeping."""
    if not folder.exists():
        return None
    if latest(folder) is None:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    aside = stale()
    folder.rename(aside)
    return aside


def discard(folder: Path) -> None:
    """Drop a finished run's checkpoints: its record holds what they were for."""
    shutil.rmtree(folder, ignore_errors=True)


# what a kept model needs to be loaded again (weights, config, tokenizer); the rest was for resuming training
_TRAINING_ONLY = ("optimizer.pt", "scheduler.pt", "scaler.pt", "trainer_state.json", "training_args.bin")


def best(folder: Path) -> Path | None:
    """The checkpoint the run chose on validation (the Trainer's `best_model_checkpoint`, kept beside the latest),
    else the latest complete one; None where there is none (a scikit-learn run saves no checkpoints)."""
    last = latest(folder)
    if last is None:
        return None
    state = read_json(last / "trainer_state.json") or {}
    chosen = state.get("best_model_checkpoint")
    candidate = folder / Path(chosen).name if chosen else last
    return candidate if is_complete(candidate) else last


def keep_best(folder: Path, dest: Path) -> Path | None:
    """Copy the run's best checkpoint's model files (weights, config, tokenizer; not the optimizer's state) to
    `dest`, replacing what was there by a rename; where it went, or None where the run has no checkpoint."""
    chosen = best(folder)
    if chosen is None:
        return None
    staged = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    for path in sorted(chosen.iterdir()):
        training_only = path.name in _TRAINING_ONLY or path.name.startswith(("rng_state", "bench-measures"))
        if path.is_file() and not training_only:
            shutil.copy2(path, staged / path.name)
    shutil.copy2(folder / FINGERPRINT, staged / FINGERPRINT)  # the configuration key the weights were trained under
    shutil.rmtree(dest, ignore_errors=True)
    staged.rename(dest)
    return dest
