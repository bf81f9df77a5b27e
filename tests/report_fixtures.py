"""Hand-made run records and predictions for the report tests, written the way `bench run` writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.results.schema import RunRecord
from bench.results.store import ResultStore, RunKey

NASTY = '<script>alert("x")</script> & <img src="http://evil.example/x.png">'


def prf(labels: np.ndarray, preds: np.ndarray) -> dict[str, float]:
    """Accuracy and binary precision/recall/F1 on label 1 (zero_division=0), as `bench run` reports them."""
    tp = int(((preds == 1) & (labels == 1)).sum())
    fp = int(((preds == 1) & (labels == 0)).sum())
    fn = int(((preds == 0) & (labels == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {"accuracy": float((preds == labels).mean()), "precision": precision, "recall": recall, "f1": f1}


def make_record(
    suite: str,
    runner: str,
    seed: int,
    *,
    status: str = "ok",
    error: str | None = None,
    family: str = "roberta",
    max_length: int = 512,
    attention_window: int | None = None,
    device: str = "cuda",
    metrics: dict[str, float] | None = None,
    n_epochs: int = 3,
    gpu_mem_mb: float | None = 4000.0,
    train_tokens_per_s: float | None = 20000.0,
    model_id: str = "roberta-base",
    **fields_of_newer_records: Any,
) -> dict[str, Any]:
    """A record as `RunRecord` writes it (a field the schema lacks fails here); metrics are None unless the run is
    ok. Without keyword fields beyond the named ones it is a record as written before the training/test memory
    split, energy and `positive_label`; `fields_of_newer_records` sets (or overrides) any declared field."""
    ok = status == "ok"
    metrics = metrics if ok and metrics else {m: None for m in ("accuracy", "f1", "precision", "recall")}
    cpu = device == "cpu"
    base_acc = metrics["accuracy"] or 0.5
    epochs = [
        {
            "epoch": e,
            "train_loss": 0.7 / e,
            "val_loss": 0.6 / e + 0.05 * seed,
            "val_accuracy": base_acc - 0.1 / e,
            "val_f1": base_acc - 0.12 / e,
            "val_precision": base_acc - 0.1 / e,
            "val_recall": base_acc - 0.1 / e,
        }
        for e in range(1, (n_epochs if ok else 1) + 1)
    ]
    fields = {
        "suite": suite,
        "runner": runner,
        "seed": seed,
        "status": status,
        "error": error,
        "model_family": family,
        "model_id": model_id,
        "max_length": max_length,
        "attention_window": attention_window,
        "truncation": "head",
        **metrics,
        "f1_average": "binary",
        "best_epoch": n_epochs if ok else None,
        "epochs": epochs,
        "train_samples_per_s": 40.0 * 512 / max_length if ok else None,
        "train_tokens_per_s": train_tokens_per_s if ok else None,
        "train_padded_tokens_per_s": train_tokens_per_s * 1.2 if ok and train_tokens_per_s else None,
        "eval_samples_per_s": 120.0 * 512 / max_length if ok else None,
        "train_s": 100.0 * n_epochs * max_length / 512 if ok else None,
        "wall_s": 110.0 * n_epochs * max_length / 512 + seed if ok else 12.0,
        "n_epochs": n_epochs,
        "peak_gpu_mem_mb": None if cpu else gpu_mem_mb,
        "peak_gpu_mem_reserved_mb": None if cpu or gpu_mem_mb is None else gpu_mem_mb * 1.1,
        "peak_gpu_mem_nvml_mb": None if cpu or gpu_mem_mb is None else gpu_mem_mb * 1.2,
        "peak_cpu_rss_mb": 2500.0 + max_length / 4,
        "n_params": 124_647_170 if family == "roberta" else 148_660_994,
        "n_train": 900,
        "n_val": 100,
        "n_test": 200,
        "device": device,
        "gpu_name": None if cpu else "NVIDIA H100 80GB HBM3",
        "gpu_driver": None if cpu else "550.54.15",
        "label_names": ["neg", "pos"],
        "config": {"suite": {"name": suite}, "runner": {"name": runner, "max_length": max_length}},
        "environment": {"python": "3.11.7", "versions": {"torch": "2.5.1", "transformers": "5.0.0"}, "git_hash": "abc"},
        "finished_at": f"2025-01-01T00:0{seed}:00+00:00",
        **fields_of_newer_records,
    }
    return RunRecord(**fields).to_dict()


def gpu_fields(gpu_mem_mb: float, train_s: float, micro_batch: int = 8, oom_retries: int = 0, **more: Any) -> dict:
    """The fields a GPU run records since training and test memory, energy and the positive class are recorded:
    training and test peaks, 300 W while training, 0.5 Wh for the test pass, one process."""
    return {
        "peak_gpu_mem_train_mb": gpu_mem_mb,
        "peak_gpu_mem_eval_mb": 0.3 * gpu_mem_mb,
        "peak_gpu_mem_train_reserved_mb": 1.1 * gpu_mem_mb,
        "train_energy_j": 300.0 * train_s,
        "eval_energy_j": 1800.0,
        "avg_gpu_power_w": 300.0,
        "gpu_shared": False,
        "nvml_scope": "process",
        "positive_label": "pos",
        "micro_batch_size": micro_batch,
        "oom_retries": oom_retries,
        "segments": 1,
        **more,
    }


def write_run(results: Path, record: dict[str, Any], predictions: pd.DataFrame | None = None) -> Path:
    """Write `record` as it is (an older layout stays older) and its predictions where the results store keeps
    them."""
    store, key = ResultStore(results), RunKey(record["suite"], record["runner"], record["seed"])
    path = store.record_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    if predictions is not None:
        predictions.to_csv(store.predictions_path(key), index=False)
    return path


def predictions(labels: np.ndarray, preds: np.ndarray, n_tokens: np.ndarray) -> pd.DataFrame:
    """A predictions table with ids test-00000, test-00001, …"""
    ids = [f"test-{i:05d}" for i in range(len(labels))]
    return pd.DataFrame({"id": ids, "label": labels, "pred": preds, "score": 0.9, "n_tokens": n_tokens})


def make_test_set(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Balanced labels and log-uniform document lengths from 100 to 6000 tokens."""
    rng = np.random.default_rng(seed)
    labels = np.array([0, 1] * (n // 2))
    n_tokens = np.exp(rng.uniform(np.log(100), np.log(6000), n)).astype(int)
    return labels, n_tokens


def predict(labels: np.ndarray, n_tokens: np.ndarray, max_length: int, seed: int) -> np.ndarray:
    """Predictions that are right 92% of the time on documents that fit, 62% on the rest: truncation hurts."""
    rng = np.random.default_rng(1000 * seed + max_length)
    p_right = np.where(n_tokens <= max_length, 0.92, 0.62)
    return np.where(rng.random(len(labels)) < p_right, labels, 1 - labels)


# runner, family, max length, attention window, peak GPU MB, train tokens/s
SWEEP = (
    ("roberta-512", "roberta", 512, None, 9000.0, 30000.0),
    ("longformer-256-1024", "longformer", 1024, 256, 14000.0, 21000.0),
    ("longformer-256-2048", "longformer", 2048, 256, 24000.0, 17000.0),
    ("longformer-256-4096", "longformer", 4096, 256, 43000.0, 12000.0),
    ("longformer-512-4096", "longformer", 4096, 512, 61000.0, 9000.0),
)


def write_sweep(results: Path, suite: str = "sweep", seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """A realistic suite with the edge cases the report must show honestly.

    - longformer-512-4096 ran out of memory on seed 1 and failed on seed 2 (error text with HTML in it);
    - longformer-256-1024 has no run for seed 2 (a runner present in some seeds only), and its records are older:
      no training/test memory split, no energy, no `positive_label`;
    - longformer-256-4096 trains with micro-batch 4 after one OOM retry on seed 0;
    - longformer-256-2048's seed 1 shared its GPU with another process (its energy is the whole board's);
    - longformer-1024-8192 ran out of memory on every seed.
    """
    labels, n_tokens = make_test_set()
    for runner, family, length, window, mem, tps in SWEEP:
        for seed in seeds:
            if runner == "longformer-256-1024" and seed == 2:
                continue
            common = dict(family=family, max_length=length, attention_window=window, gpu_mem_mb=mem)
            if runner == "longformer-512-4096" and seed >= 1:
                status, err = ("oom", "CUDA out of memory.") if seed == 1 else ("failed", f"RuntimeError: {NASTY}")
                write_run(results, make_record(suite, runner, seed, status=status, error=err, **common))
                continue
            preds = predict(labels, n_tokens, length, seed)
            newer = {}
            if runner != "longformer-256-1024":
                micro, retries = (4, int(seed == 0)) if runner == "longformer-256-4096" else (8, 0)
                shared = runner == "longformer-256-2048" and seed == 1
                train_s = 300.0 * length / 512
                newer = gpu_fields(mem, train_s, micro, retries, gpu_shared=shared)
            record = make_record(
                suite, runner, seed, metrics=prf(labels, preds), train_tokens_per_s=tps, **common, **newer
            )
            write_run(results, record, predictions(labels, preds, n_tokens))
    for seed in seeds:
        record = make_record(suite, "longformer-1024-8192", seed, status="oom", error="CUDA out of memory.",
                             family="longformer", max_length=8192, attention_window=1024)  # fmt: skip
        write_run(results, record)
