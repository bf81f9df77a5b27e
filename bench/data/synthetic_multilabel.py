"""Synthetic multi-label documents: each label a document has is announced by its own cue passage, placed at random.

Each document is L words (L uniform in [min_tokens, max_tokens]) of label-free filler (the demo's vocabulary,
`bench.data.synthetic.filler_words`). Each of the `n_labels` labels is present independently with probability
`label_probability` (a document with none gets one label drawn uniformly, unless `allow_empty`); each present label
gets a passage of `cue_length` consecutive words drawn from that label's own cue words. The passages do not overlap,
and their order and the gaps between them are uniformly random: the m passages and the L - m * cue_length filler
words are arranged as a uniformly random sequence of m + (L - m * k) items.

A runner that reads the first C words (a head truncation) sees a label's cue exactly when its passage starts before
C. Labels whose passage starts at or after C are invisible to it: it can only guess them, so its recall drops in a
predictable way, while a runner that reads the whole document can find every label. `visible_fraction` counts,
for generated rows, the share of (document, label) pairs a C-word head can see. Cue words are words of the filler
scheme the filler never uses, so each is one token for the tiny runners' tokenizer, as in the demo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bench.data.synthetic import filler_words
from bench.errors import BenchError

TOPICS = ("sports", "politics", "science", "music", "travel", "food", "health", "finance", "film", "law")
CUES_PER_LABEL = 4


@dataclass(frozen=True)
class MultiLabelSpec:
    """Parameters of the multi-label generator; the same spec always yields the same documents."""

    n_train: int = 400
    n_test: int = 200
    min_tokens: int = 200
    max_tokens: int = 400
    cue_length: int = 12
    n_labels: int = 4
    label_probability: float = 0.4
    filler_vocab: int = 200
    allow_empty: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_train", "n_test", "min_tokens", "max_tokens", "cue_length", "n_labels", "filler_vocab"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise BenchError(f"synthetic multilabel data: {name} must be a positive integer, got {value!r}")
        if not 2 <= self.n_labels <= len(TOPICS):
            raise BenchError(f"synthetic multilabel data: n_labels must be in 2..{len(TOPICS)}, got {self.n_labels}")
        if not self.n_labels * self.cue_length <= self.min_tokens <= self.max_tokens:
            raise BenchError("synthetic multilabel data: need n_labels * cue_length <= min_tokens <= max_tokens")
        p = self.label_probability
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p < 1:
            raise BenchError(f"synthetic multilabel data: label_probability must be in (0, 1), got {p!r}")
        if self.filler_vocab + self.n_labels * CUES_PER_LABEL > len(filler_words(10**6)):
            raise BenchError("synthetic multilabel data: filler_vocab is too large")

    @property
    def label_names(self) -> tuple[str, ...]:
        return TOPICS[: self.n_labels]

    def cue_words(self) -> dict[str, list[str]]:
        """Each label's cue words: words of the filler scheme beyond those the filler uses."""
        words = filler_words(self.filler_vocab + self.n_labels * CUES_PER_LABEL)[self.filler_vocab :]
        return {name: words[j * CUES_PER_LABEL : (j + 1) * CUES_PER_LABEL] for j, name in enumerate(self.label_names)}

    def cache_key(self) -> str:
        fields = (
            self.n_train,
            self.n_test,
            self.min_tokens,
            self.max_tokens,
            self.cue_length,
            self.n_labels,
            self.label_probability,
            self.filler_vocab,
            int(self.allow_empty),
            self.seed,
        )
        return "multilabel-v1-" + "-".join(str(v) for v in fields)


def generate(spec: MultiLabelSpec, split: str) -> list[dict]:
    """Documents of one split as {id, text, labels, cue_starts} rows (`cue_starts[i]`: the word where the passage of
    `labels[i]` starts); train and test use independent streams."""
    rng = random.Random(f"multilabel-{spec.seed}-{split}")
    filler = filler_words(spec.filler_vocab)
    cues = spec.cue_words()
    n = spec.n_train if split == "train" else spec.n_test
    rows = []
    for i in range(n):
        present = [name for name in spec.label_names if rng.random() < spec.label_probability]
        if not present and not spec.allow_empty:
            present = [rng.choice(spec.label_names)]
        length = rng.randint(spec.min_tokens, spec.max_tokens)
        # a uniformly random arrangement of the passages (one item each) among the filler words
        items: list[str | None] = [None] * (length - len(present) * spec.cue_length) + list(present)
        rng.shuffle(items)
        words: list[str] = []
        starts: dict[str, int] = {}
        for item in items:
            if item is None:
                words.append(rng.choice(filler))
            else:
                starts[item] = len(words)
                words += [rng.choice(cues[item]) for _ in range(spec.cue_length)]
        labels = [name for name in spec.label_names if name in starts]
        rows.append(
            {
                "id": f"{split}-{i:05d}",
                "text": " ".join(words),
                "labels": labels,
                "cue_starts": [starts[name] for name in labels],
            }
        )
    return rows


def visible_fraction(rows: list[dict], content_tokens: int) -> float:
    """The share of (document, label) pairs whose cue passage starts within the first `content_tokens` words: the
    best label recall a head-truncated runner that reads that many words can reach."""
    starts = [s for row in rows for s in row["cue_starts"]]
    return sum(s < content_tokens for s in starts) / len(starts) if starts else 1.0
