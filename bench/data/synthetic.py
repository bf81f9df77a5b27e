"""The demo suite's synthetic documents: a cue passage hidden at a uniformly random place in label-free filler.

Each document is L filler words (L uniform in [min_tokens, max_tokens]) in which a passage of `cue_length`
consecutive cue words starts at a uniformly random position p in [0, L - cue_length]. Cue words come from the
label's own set, filler from a shared label-independent vocabulary. Every word is one token for the tokenizer the
tiny runners train on this text, so words and tokens coincide.

A runner that truncates to its first C content tokens sees a cue exactly when p < C; otherwise it can only guess.
Seeing any part of the passage is enough, since every cue word belongs to one label's set. A runner that learns the
task perfectly from what it sees therefore has expected accuracy

    E[acc](C) = 1/2 + 1/2 * mean_L min(1, C / (L - cue_length + 1))
              ~ 1/2 + C / (2 (b - a)) * ln((b - k + 1) / (a - k + 1))     for C <= a - k + 1,

with a = min_tokens, b = max_tokens, k = cue_length. For the demo (a=600, b=1200, k=64) and a 512-token
head-truncated runner (C = 510 after <s> and </s>) that is 0.819; a runner that reads the whole document can reach 1.
The demo's documents are all longer than 512 tokens, so every truncated runner loses some of them; its long cue
(64 words) gives the tiny models a strong enough signal to learn the task in two epochs for any seed.

The same formula holds for head+tail truncation (the first h and the last t tokens, C = h + t): the cue is missed
only when it lies wholly in the dropped middle [h, L - t), i.e. for the L - k + 1 - C starts h <= p <= L - t - k
(none when C >= L - k + 1), exactly as many as head truncation misses. With evidence placed uniformly, *where* a
runner cuts does not matter, only how much it keeps: tiny-roberta-headtail-512 expects 0.819 like tiny-roberta-512
(on IMDB, where reviews end with their verdict, the tail does help). A chunk runner keeps the first
n_chunks * (chunk_length - 2) tokens, a head again: tiny-roberta-chunks-2048 keeps 4 * 510 = 2040 >= 1137, so 1.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.results.files import atomic_writer

POSITIVE_CUES = ("brilliant", "superb", "wonderful", "masterful")
NEGATIVE_CUES = ("awful", "dreadful", "tedious", "clumsy")
LABEL_NAMES = ("negative", "positive")
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z"]
_VOWELS = ["a", "e", "i", "o", "u"]


@dataclass(frozen=True)
class SyntheticSpec:
    """Parameters of the generator; the same spec always yields the same documents."""

    n_train: int = 600
    n_test: int = 400
    min_tokens: int = 1000
    max_tokens: int = 2000
    cue_length: int = 16
    filler_vocab: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_train", "n_test", "min_tokens", "max_tokens", "cue_length", "filler_vocab"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise BenchError(f"synthetic data: {name} must be a positive integer, got {value!r}")
        if not self.cue_length <= self.min_tokens <= self.max_tokens:
            raise BenchError("synthetic data: need cue_length <= min_tokens <= max_tokens")
        if self.filler_vocab > len(_ONSETS) ** 2 * len(_VOWELS) ** 2:
            raise BenchError(f"synthetic data: filler_vocab is at most {len(_ONSETS) ** 2 * len(_VOWELS) ** 2}")

    def cache_key(self) -> str:
        return "-".join(
            str(v)
            for v in (
                "v1",
                self.n_train,
                self.n_test,
                self.min_tokens,
                self.max_tokens,
                self.cue_length,
                self.filler_vocab,
                self.seed,
            )
        )


def filler_words(n: int) -> list[str]:
    """n distinct pronounceable two-syllable words, in a fixed order."""
    syllables = [o + v for o in _ONSETS for v in _VOWELS]
    words = [a + b for a in syllables for b in syllables]
    random.Random(1234).shuffle(words)
    return words[:n]


def generate(spec: SyntheticSpec, split: str) -> list[dict]:
    """Documents of one split as {id, text, label} rows; train and test use independent streams."""
    rng = random.Random(f"{spec.seed}-{split}")
    filler = filler_words(spec.filler_vocab)
    n = spec.n_train if split == "train" else spec.n_test
    rows = []
    for i in range(n):
        label = i % 2  # exactly balanced
        length = rng.randint(spec.min_tokens, spec.max_tokens)
        words = [rng.choice(filler) for _ in range(length)]
        start = rng.randint(0, length - spec.cue_length)
        cues = POSITIVE_CUES if label else NEGATIVE_CUES
        words[start : start + spec.cue_length] = [rng.choice(cues) for _ in range(spec.cue_length)]
        rows.append({"id": f"{split}-{i:05d}", "text": " ".join(words), "label": label})
    rng.shuffle(rows)
    return rows


def write_files(spec: Any, folder: Path, rows: Callable[[Any, str], list[dict]] | None = None) -> dict[str, Path]:
    """Generate train/test once into `folder` as jsonl.gz (atomically) and return their paths.

    `rows(spec, split)` makes a split's rows (default: this module's `generate`); `spec.cache_key()` names the
    folder they are kept in."""
    rows = rows or generate
    folder = folder / spec.cache_key()
    paths = {split: folder / f"{split}.jsonl.gz" for split in ("train", "test")}
    if all(p.exists() for p in paths.values()):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    for split, path in paths.items():
        # a unique temporary file per writer: two runs generating it at once cannot interleave their rows; mtime=0
        # keeps the gzip bytes identical across runs, so datasets' cache keys stay stable too
        with atomic_writer(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
            for row in rows(spec, split):
                f.write((json.dumps(row) + "\n").encode())
    return paths


def expected_accuracy(spec: SyntheticSpec, content_tokens: int) -> float:
    """Expected accuracy of a perfect learner that sees `content_tokens` tokens of each document, kept as a head or a
    head and a tail (exact sum over L; see the module docstring)."""
    lengths = range(spec.min_tokens, spec.max_tokens + 1)
    seen = sum(min(1.0, content_tokens / (L - spec.cue_length + 1)) for L in lengths) / len(lengths)
    return 0.5 + 0.5 * seen
