"""Document lengths in each runner's own tokens, and what its input rules make of them: the share of documents it
truncates, the share of tokens it drops, and the padding its training batches would carry."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.config import AUTO, COMPILE_BUCKET, ProtocolConfig
from bench.output import bar
from bench.runners import EstimatorRunner, Runner, TransformerRunner

PERCENTILES = (50, 90, 95, 99)
MEGABATCH_MULT = 50
COUNT_SLICE = (
    4096  # documents per tokenizer call  # transformers' LengthGroupedSampler sorts runs of 50 batches by length
)


class TokenizerUnavailable(Exception):
    """A runner's tokenizer cannot be had here (offline, not on disk): its row says why, the others go on."""


@dataclass(frozen=True)
class Counter:
    """How one tokenizer counts a document's tokens (`count(texts)`), shared by every runner that uses it."""

    key: str  # runners with the same key count alike, so the documents are tokenized once for all of them
    source: str  # which tokenizer it is, for the table (`bench.runners.tokenizers.tokenizer_source`)
    count: Callable[[list[str]], np.ndarray]
    tokenizer: Any = None  # a transformers tokenizer (its special tokens are needed to encode), None for estimators


def counter_for(runner: Runner, corpus: Callable[[], Iterable[str]], built: dict | None = None) -> Counter:
    """The tokenizer `runner` would train with, as a `Counter`; never reaches the network. `built` keeps the
    tokenizers of pretrained checkpoints across calls: a suite's runners of one checkpoint (eleven in imdb) share
    it, and loading one costs half a second.

    Raises:
        TokenizerUnavailable: A pretrained checkpoint's tokenizer that is not on disk, or any failure building it
            (one line: why, and what to do).
    """
    if isinstance(runner, EstimatorRunner):
        features = runner.build_features()
        name = type(features).__name__
        return Counter(
            f"{type(runner).__qualname__}:{sorted(runner.params().items())}",
            f"{name}'s own word tokens",
            lambda texts: np.asarray(runner.count_tokens(features, texts), dtype=np.int64),
        )
    if not isinstance(runner, TransformerRunner):
        raise TokenizerUnavailable(f"{type(runner).__name__} is neither a transformer nor an estimator runner")
    model_id = getattr(runner, "model_id", None)
    if model_id and not getattr(runner, "random_init", False):
        from bench.runners import locate

        if locate.local_checkpoint(model_id) is None:  # from_pretrained would go to the hub: not in a pre-flight
            raise TokenizerUnavailable(
                f"{model_id}'s tokenizer is not on disk ({locate.missing_hint(model_id)}); or pass --random-init "
                "for a stand-in of its family trained on the suite's text"
            )
    memo = _checkpoint_key(runner)
    try:
        if memo is not None and built is not None and memo in built:
            tokenizer = built[memo]
        else:
            tokenizer = runner.build_tokenizer(corpus)
            if memo is not None and built is not None:
                built[memo] = tokenizer
    except Exception as err:  # whatever went wrong, one line in its row; the other runners go on
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TokenizerUnavailable(f"cannot build its tokenizer: {text[:200]}") from None
    from bench.runners.tokenizers import tokenizer_source
    from bench.train.encoding import tokenizer_key

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:  # a copy without the truncation and padding a saved tokenizer may carry (MiniLM's: 128)
        from tokenizers import Tokenizer

        backend = Tokenizer.from_str(backend.to_str())
        backend.no_truncation()
        backend.no_padding()

    def count(texts: list[str]) -> np.ndarray:
        # in slices, keeping only the counts: the ids of a whole corpus as Python lists take gigabytes
        counts = np.zeros(len(texts), dtype=np.int64)
        shown = bar(desc="tokenizing", total=len(texts), unit="doc")
        for start in range(0, len(texts), COUNT_SLICE):
            part = texts[start : start + COUNT_SLICE]
            if backend is not None:  # the Rust tokenizer's own batch call, on every core, without Python lists
                lengths = [len(e) for e in backend.encode_batch(part, add_special_tokens=False)]
            else:
                lengths = [len(x) for x in tokenizer(part, add_special_tokens=False, verbose=False)["input_ids"]]
            counts[start : start + len(part)] = lengths
            shown.update(len(part))
        shown.close()
        return counts

    return Counter(tokenizer_key(tokenizer), tokenizer_source(tokenizer), count, tokenizer)


def _checkpoint_key(runner: TransformerRunner) -> tuple | None:
    """What a pretrained runner's tokenizer depends on (none of max_length, windows, chunks); None for others."""
    from bench.runners.hf import PretrainedRunner

    if not isinstance(runner, PretrainedRunner) or type(runner).build_tokenizer is not PretrainedRunner.build_tokenizer:
        return None
    return (runner.model_id, runner.random_init, runner.revision, runner.trust_remote_code)


@dataclass(frozen=True)
class Lengths:
    """One runner's view of the suite: document lengths in its tokens (the training documents: train and validation),
    what it keeps of them, and the padded micro-batches of one training epoch."""

    runner: str
    tokenizer: str
    tokenizer_key: str  # equal keys: equal counts (the same vocabulary and rules)
    n_docs: int
    percentiles: dict[int, float]
    max_tokens: int
    mean_tokens: float
    content_tokens: int | None  # the most document tokens the runner reads (None: all)
    truncated_share: float  # documents longer than content_tokens
    dropped_share: float  # tokens beyond content_tokens, over all tokens
    micro_batch: int | None  # the training micro-batch the padding is simulated at
    micro_batch_note: str = ""  # why that micro-batch (the suite's is auto)
    padding_share: float | None = None  # padding tokens over all tokens of the padded batches
    batch_lengths: tuple[int, ...] = ()  # padded length of each micro-batch of one epoch
    batch_rows: tuple[int, ...] = ()  # documents in each of those micro-batches
    # one pass over validation and over test, in evaluation batches (read sorted): documents and padded length
    val_batch_rows: tuple[int, ...] = ()
    val_batch_lengths: tuple[int, ...] = ()
    test_batch_rows: tuple[int, ...] = ()
    test_batch_lengths: tuple[int, ...] = ()
    doc_tokens: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)


def summarize(
    name: str,
    runner: Runner,
    counter: Counter,
    train: np.ndarray,
    validation: np.ndarray,
    test: np.ndarray,
    protocol: ProtocolConfig,
) -> Lengths:
    """`runner`'s `Lengths` from the token counts of each split (no special tokens)."""
    docs = np.concatenate([train, validation])
    total = int(docs.sum())
    limit = runner.content_tokens if isinstance(runner, TransformerRunner) else None
    if limit is None:
        truncated, dropped = 0.0, 0.0
    else:
        truncated = float((docs > limit).mean()) if len(docs) else 0.0
        dropped = float(np.clip(docs - limit, 0, None).sum() / total) if total else 0.0
    common = dict(
        runner=name,
        tokenizer=counter.source,
        tokenizer_key=counter.key,
        n_docs=len(docs),
        percentiles={p: float(np.percentile(docs, p)) for p in PERCENTILES} if len(docs) else {},
        max_tokens=int(docs.max()) if len(docs) else 0,
        mean_tokens=float(docs.mean()) if len(docs) else 0.0,
        content_tokens=limit,
        truncated_share=truncated,
        dropped_share=dropped,
        doc_tokens=docs,
    )
    if not isinstance(runner, TransformerRunner):
        return Lengths(micro_batch=None, **common)  # no batches: a scikit-learn model
    micro, note = micro_batch(protocol)
    encoded = encoded_lengths(runner, counter.tokenizer)
    multiple = math.lcm(runner.pad_to_multiple_of or 1, COMPILE_BUCKET if protocol.compile else 1)
    rows, lengths = train_batches(encoded(train), micro, protocol.batch_size, multiple, protocol.split_seed)
    real = int(encoded(train).sum())
    padded = int(np.dot(rows, lengths))
    eval_batch = protocol.eval_batch_size if protocol.eval_batch_size != AUTO else micro
    val_rows, val_lengths = eval_batches(encoded(validation), eval_batch, multiple)
    test_rows, test_lengths = eval_batches(encoded(test), eval_batch, multiple)
    return Lengths(
        micro_batch=micro,
        micro_batch_note=note,
        padding_share=1 - real / padded if padded else 0.0,
        batch_lengths=_ints(lengths),
        batch_rows=_ints(rows),
        val_batch_rows=_ints(val_rows),
        val_batch_lengths=_ints(val_lengths),
        test_batch_rows=_ints(test_rows),
        test_batch_lengths=_ints(test_lengths),
        **common,
    )


def micro_batch(protocol: ProtocolConfig) -> tuple[int, str]:
    """The training micro-batch the padding is simulated at: the suite's, or, where it is `auto` (sized to the device
    before training), the effective batch: the largest the probe may choose, and so the most padding."""
    if protocol.per_device_batch_size == AUTO:
        return protocol.batch_size, f"per_device_batch_size is auto: shown at the effective batch {protocol.batch_size}"
    return int(protocol.per_device_batch_size), ""


def encoded_lengths(runner: TransformerRunner, tokenizer) -> Callable[[np.ndarray], np.ndarray]:
    """Document token counts -> model input lengths, through the runner's own `encode` (special tokens, head+tail,
    chunks) applied to a placeholder of each distinct count: every built-in runner's input length depends on the
    count alone, and a corpus has a few thousand distinct counts, not one per document."""
    cache: dict[int, int] = {}

    def lengths(counts: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(counts, return_inverse=True)
        for n in unique.tolist():
            if n not in cache:
                cache[n] = len(runner.encode([0] * n, tokenizer))
        return np.asarray([cache[n] for n in unique.tolist()], dtype=np.int64)[inverse]

    return lengths


def train_batches(
    lengths: np.ndarray, micro: int, group: int, multiple: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(documents, padded length) of each micro-batch of one epoch, grouped as the Trainer's length-grouped sampler
    groups them (`transformers.trainer_pt_utils.get_length_grouped_indices` over the effective batch `group`: a random
    order cut into runs of 50 batches, each run sorted longest first), read `micro` documents at a time and padded to
    the longest, rounded up to `multiple`. The same algorithm with numpy's generator: the order differs from a real
    run's, the padding it carries does not, on average."""
    n = len(lengths)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    mult = min(n // (group * 4), MEGABATCH_MULT) or 1
    order = np.random.default_rng(seed).permutation(n)
    size = mult * group
    grouped = [run[np.argsort(-lengths[run], kind="stable")] for run in np.split(order, range(size, n, size))]
    ordered = lengths[np.concatenate(grouped)]
    return _pad(ordered, micro, multiple)


def eval_batches(lengths: np.ndarray, batch: int, multiple: int) -> tuple[np.ndarray, np.ndarray]:
    """(documents, padded length) of each evaluation batch: the splits are read sorted, longest first."""
    return _pad(np.sort(lengths)[::-1], batch, multiple)


def _ints(values: np.ndarray) -> tuple[int, ...]:
    return tuple(int(x) for x in values)


def _pad(ordered: np.ndarray, batch: int, multiple: int) -> tuple[np.ndarray, np.ndarray]:
    if len(ordered) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.arange(0, len(ordered), batch)
    longest = np.maximum.reduceat(ordered, starts)
    rows = np.diff(np.append(starts, len(ordered)))
    return rows, -(-longest // multiple) * multiple


def count_splits(counter: Counter, splits: Sequence[list[str]]) -> list[np.ndarray]:
    """Token counts of each split's texts, tokenized in one batch call (the fast tokenizers spread it over cores)."""
    texts = [t for split in splits for t in split]
    counts = counter.count(texts) if texts else np.zeros(0, dtype=np.int64)
    bounds = np.cumsum([len(s) for s in splits])[:-1]
    return np.split(counts, bounds)
