"""Resuming: which checkpoint a rerun picks, and when old checkpoints are thrown away."""

from __future__ import annotations

import json
from pathlib import Path

from bench.train.checkpoints import FINGERPRINT, epoch_of, is_complete, latest, prepare


def fake_checkpoint(folder: Path, step: int, epoch: float, complete: bool = True) -> Path:
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    for name in ("optimizer.pt", "scheduler.pt", "model.safetensors", "rng_state.pth"):
        (path / name).write_bytes(b"x")
    # Trainer writes trainer_state.json last: without it (or half-written) the checkpoint is incomplete
    (path / "trainer_state.json").write_text(json.dumps({"epoch": epoch}) if complete else '{"epoch": ')
    return path


def test_latest_complete_checkpoint_wins(tmp_path: Path):
    fake_checkpoint(tmp_path, 10, 1.0)
    second = fake_checkpoint(tmp_path, 20, 2.0)
    fake_checkpoint(tmp_path, 30, 3.0, complete=False)
    (tmp_path / "checkpoint-junk").mkdir()
    assert latest(tmp_path) == second and epoch_of(second) == 2
    assert not is_complete(tmp_path / "checkpoint-30")


def test_missing_weights_make_a_checkpoint_incomplete(tmp_path: Path):
    path = fake_checkpoint(tmp_path, 10, 1.0)
    (path / "model.safetensors").unlink()
    assert latest(tmp_path) is None


def test_prepare_resumes_only_the_same_configuration(tmp_path: Path):
    folder = tmp_path / "seed0.checkpoints"
    assert prepare(folder, {"lr": 1}) == (None, None)
    assert json.loads((folder / FINGERPRINT).read_text()) == {"lr": 1}
    ckpt = fake_checkpoint(folder, 10, 1.0)
    assert prepare(folder, {"lr": 1}) == (ckpt, None)

    resume, note = prepare(folder, {"lr": 2})
    assert resume is None and "configuration changed" in note
    assert not ckpt.exists() and json.loads((folder / FINGERPRINT).read_text()) == {"lr": 2}


def test_prepare_starts_fresh_when_no_checkpoint_finished(tmp_path: Path):
    folder = tmp_path / "seed0.checkpoints"
    prepare(folder, {"lr": 1})
    fake_checkpoint(folder, 10, 1.0, complete=False)
    assert prepare(folder, {"lr": 1}) == (None, None)
    assert not (folder / "checkpoint-10").exists()
