"""Calibration of single-label runs: expected calibration error and reliability bins of the top-label confidence."""

from __future__ import annotations

import numpy as np
import pandas as pd

N_BINS = 15  # equal-width bins of confidence on [0, 1]
CALIBRATION_COLUMNS = ("runner", "n", "ece", "confidence", "accuracy", "recorded", "seeds")
BIN_COLUMNS = ("runner", "bin", "low", "high", "n", "confidence", "accuracy")


def bin_index(confidence: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """The bin of each confidence: bin b holds (b/n_bins, (b+1)/n_bins], the first also 0."""
    return np.clip(np.ceil(np.asarray(confidence, dtype=float) * n_bins).astype(np.int64) - 1, 0, n_bins - 1)


def reliability(confidence: np.ndarray, correct: np.ndarray, n_bins: int = N_BINS) -> pd.DataFrame:
    """Per non-empty bin: its edges, examples, mean confidence and accuracy."""
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    bins = bin_index(confidence, n_bins)
    n = np.bincount(bins, minlength=n_bins)
    total_conf = np.bincount(bins, weights=confidence, minlength=n_bins)
    total_right = np.bincount(bins, weights=correct, minlength=n_bins)
    used = np.flatnonzero(n)
    return pd.DataFrame(
        {
            "bin": used,
            "low": used / n_bins,
            "high": (used + 1) / n_bins,
            "n": n[used],
            "confidence": total_conf[used] / n[used],
            "accuracy": total_right[used] / n[used],
        }
    )


def ece(confidence: np.ndarray, correct: np.ndarray, n_bins: int = N_BINS) -> float:
    """Expected calibration error: sum over bins of (examples in bin / all) × |accuracy − mean confidence|; NaN
    without examples."""
    bins = reliability(confidence, correct, n_bins)
    if bins.empty:
        return float("nan")
    weights = bins["n"] / bins["n"].sum()
    return float((weights * (bins["accuracy"] - bins["confidence"]).abs()).sum())


def _scored(predictions: pd.DataFrame, runner: str) -> tuple[pd.DataFrame, int]:
    rows = predictions[predictions["runner"] == runner]
    rows = rows.assign(score=pd.to_numeric(rows["score"], errors="coerce"))  # an older file's empty column: NaN
    return rows[rows["score"].between(0, 1)], len(rows)


def calibration_table(predictions: pd.DataFrame, order: list[str], n_bins: int = N_BINS) -> pd.DataFrame:
    """One row per runner with predictions: ECE, mean confidence and accuracy of its pooled seeds' scored test
    predictions; `recorded` False (and NaN figures) where its predictions hold no confidence (older files)."""
    rows = []
    for runner in order:
        scored, n_all = _scored(predictions, runner)
        if not n_all:
            continue
        conf, right = scored["score"].to_numpy(dtype=float), scored["correct"].to_numpy(dtype=float)
        rows.append(
            {
                "runner": runner,
                "n": len(scored),
                "ece": ece(conf, right, n_bins) if len(scored) else float("nan"),
                "confidence": float(conf.mean()) if len(scored) else float("nan"),
                "accuracy": float(right.mean()) if len(scored) else float("nan"),
                "recorded": bool(len(scored)),
                "seeds": int(scored["seed"].nunique()),
            }
        )
    return pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS))


def reliability_table(predictions: pd.DataFrame, order: list[str], n_bins: int = N_BINS) -> pd.DataFrame:
    """The reliability bins of every runner whose predictions hold a confidence, pooled over its seeds."""
    frames = []
    for runner in order:
        scored, _ = _scored(predictions, runner)
        if len(scored):
            bins = reliability(scored["score"].to_numpy(), scored["correct"].to_numpy(), n_bins)
            frames.append(bins.assign(runner=runner))
    if not frames:
        return pd.DataFrame(columns=list(BIN_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(BIN_COLUMNS)]
