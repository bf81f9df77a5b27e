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


KEY = {"version": 1, "protocol": {"learning_rate": 1}, "limit": None}


def stale_folders(folder: Path):
    made = []

    def next_free() -> Path:
        made.append(folder.with_name(f"{folder.name}.stale-{len(made)}"))
        return made[-1]

    return next_free, made


def test_prepare_resumes_only_the_same_configuration(tmp_path: Path):
    folder = tmp_path / "seed0.checkpoints"
    stale, _made = stale_folders(folder)
    assert prepare(folder, KEY, stale) == (None, None)
    assert json.loads((folder / FINGERPRINT).read_text()) == {"key": KEY}
    ckpt = fake_checkpoint(folder, 10, 1.0)
    assert prepare(folder, KEY, stale) == (ckpt, None)

    other = {**KEY, "protocol": {"learning_rate": 2}}
    resume, note = prepare(folder, other, stale)
    assert resume is None and "configuration changed" in note and "learning_rate 1 -> 2" in note
    assert json.loads((folder / FINGERPRINT).read_text()) == {"key": other}


def test_checkpoints_of_another_configuration_are_moved_aside_never_deleted(tmp_path: Path):
    folder = tmp_path / "seed0.checkpoints"
    stale, made = stale_folders(folder)
    prepare(folder, KEY, stale)
    fake_checkpoint(folder, 10, 1.0)
    _, note = prepare(folder, {**KEY, "limit": 600}, stale)
    (aside,) = made
    assert str(aside) in note and latest(aside) == aside / "checkpoint-10"
    assert json.loads((aside / FINGERPRINT).read_text()) == {"key": KEY}


def test_a_setting_added_by_an_upgrade_keeps_the_checkpoints(tmp_path: Path):
    folder = tmp_path / "seed0.checkpoints"
    stale, _ = stale_folders(folder)
    prepare(folder, KEY, stale)
    ckpt = fake_checkpoint(folder, 10, 1.0)
    upgraded = {**KEY, "protocol": {"learning_rate": 1, "a_new_setting": 3}}
    assert prepare(folder, upgraded, stale) == (ckpt, None)


def test_checkpoints_of_bench_before_keys_resume_under_their_rebuilt_key(tmp_path: Path):
    from bench.config import ProtocolConfig, to_dict
    from bench.results.key import configuration_key

    suite = {"data": {"source": "synthetic", "synthetic": {"n_train": 10}}, "protocol": to_dict(ProtocolConfig())}
    runner = {"name": "r", "class": "R", "max_length": 64}
    folder = tmp_path / "seed0.checkpoints"
    folder.mkdir()
    (folder / FINGERPRINT).write_text(json.dumps({"config": {"suite": suite, "runner": runner, "limit": None}}))
    ckpt = fake_checkpoint(folder, 10, 1.0)
    stale, _ = stale_folders(folder)
    assert prepare(folder, configuration_key(suite, runner, None), stale) == (ckpt, None)


def test_prepare_starts_fresh_when_no_checkpoint_finished(tmp_path: Path):
    folder = tmp_path / "seed0.checkpoints"
    stale, made = stale_folders(folder)
    prepare(folder, KEY, stale)
    fake_checkpoint(folder, 10, 1.0, complete=False)
    assert prepare(folder, KEY, stale) == (None, None)
    assert not (folder / "checkpoint-10").exists() and not made
