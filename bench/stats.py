"""Statistics for the report: spread over seeds, bootstrap over test examples, a paired test, Pareto fronts."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

N_BOOTSTRAP = 2000
N_SIGN_FLIPS = 100_000
CI_LEVEL = 0.95
BOOTSTRAP_SEED = 0  # fixed: the same results always give the same report
# Seeds are resampled only from 3 up: two seeds give three distinct resamples, too few for a percentile interval.
MIN_SEEDS_TWO_LEVEL = 3


@dataclass(frozen=True)
class SeedStats:
    """A measurement over seeds: mean, sample standard deviation (NaN below two values) and count."""

    mean: float
    std: float
    n: int


def seed_stats(values: np.ndarray | list[float]) -> SeedStats:
    """Mean and sample std (ddof=1) of the non-missing values; with one value the std is NaN, not 0."""
    arr = np.asarray(values, dtype=float)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return SeedStats(math.nan, math.nan, 0)
    std = float(arr.std(ddof=1)) if arr.size > 1 else math.nan
    return SeedStats(float(arr.mean()), std, int(arr.size))


def bootstrap_sums(x: np.ndarray, n_boot: int = N_BOOTSTRAP, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """Column sums of `x` over bootstrap resamples of its rows.

    The same `n_boot`, `seed` and row count always draw the same resamples, so statistics computed from separate
    calls (one runner and another, or a runner and the baseline) are paired.

    Args:
        x: Per-example values, shape (n, k).
        n_boot: Number of resamples.
        seed: Random seed of the resampling.

    Returns:
        Array of shape (n_boot, k): row b holds the column sums over resample b.
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, x.shape[1]))
    chunk = max(1, min(n_boot, 4_000_000 // max(n, 1)))  # bounds the (chunk, n) count matrix to ~32 MB
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(size, n))
        # Resampling counts per example turn the sums into one matrix product.
        counts = np.bincount((idx + n * np.arange(size)[:, None]).ravel(), minlength=size * n).reshape(size, n)
        out[start : start + size] = counts @ x
    return out


def percentile_ci(samples: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float]:
    """Percentile confidence interval of bootstrap samples (NaN samples ignored)."""
    samples = np.asarray(samples, dtype=float)
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return float(lo), float(hi)


def prf_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 from counts, 0 where undefined (sklearn's zero_division=0, as the runs use)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    return precision, recall, f1


def bootstrap_classification(
    labels: np.ndarray,
    preds: np.ndarray,
    n_classes: int,
    positive: int | None = 1,
    n_boot: int = N_BOOTSTRAP,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, tuple[float, float]]:
    """95% bootstrap CIs over test examples of accuracy, F1, precision and recall, averaged over seeds.

    Each resample draws test examples with replacement; every seed is scored on the same resample and the scores
    are averaged, so the interval is for the seed-averaged metric and covers test-set sampling only (the seeds are
    held fixed). F1/precision/recall are binary on the label id `positive` for two classes and macro-averaged
    otherwise, as `bench run` computes them.

    Args:
        labels: True labels, shape (n,).
        preds: Predicted labels, shape (n_seeds, n).
        n_classes: Number of classes.
        positive: Label id of the positive class of a two-class task; None when it is not known (then only
            accuracy gets an interval: an F1 interval for the wrong class would be worse than none).
        n_boot: Number of resamples.
        seed: Random seed of the resampling.

    Returns:
        Metric name -> (low, high).
    """
    classes = [] if n_classes == 2 and positive is None else [positive] if n_classes == 2 else list(range(n_classes))
    columns = [preds == labels[None, :]]  # (S, n) each
    for c in classes:
        columns += [(preds == c) & (labels == c), (preds == c) & (labels != c), (preds != c) & (labels == c)]
    x = np.concatenate([col.T for col in columns], axis=1).astype(float)  # (n, S * (1 + 3 * len(classes)))
    sums = bootstrap_sums(x, n_boot, seed).reshape(n_boot, 1 + 3 * len(classes), preds.shape[0])
    accuracy = sums[:, 0] / len(labels)
    if not classes:
        return {"accuracy": percentile_ci(accuracy.mean(axis=1))}
    prf = [prf_from_counts(sums[:, 1 + 3 * i], sums[:, 2 + 3 * i], sums[:, 3 + 3 * i]) for i in range(len(classes))]
    precision, recall, f1 = (np.mean([m[j] for m in prf], axis=0) for j in range(3))  # macro: mean over classes
    metrics = {"accuracy": accuracy, "f1": f1, "precision": precision, "recall": recall}
    return {name: percentile_ci(values.mean(axis=1)) for name, values in metrics.items()}


def _seed_weights(n_seeds: int, n_boot: int, seed: int, stream: int) -> np.ndarray:
    """How often each seed is drawn in each of `n_boot` resamples of `n_seeds` seeds, shape (n_boot, n_seeds)."""
    rng = np.random.default_rng([seed, stream])
    return rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_boot).astype(float)


def two_level_bootstrap_delta(
    correct_a: np.ndarray, correct_b: np.ndarray, n_boot: int = N_BOOTSTRAP, seed: int = BOOTSTRAP_SEED
) -> np.ndarray:
    """Bootstrap samples of accuracy(A) - accuracy(B) that resample seeds, then test examples.

    Each resample draws each runner's seeds with replacement, then the test examples with replacement, and scores
    the drawn seeds on the drawn examples: its spread covers both the seed-to-seed variation of training and the
    sampling of the test set. The examples are drawn once per resample for both runners and all seeds (there is one
    test set: pairing on it is what makes the comparison sharp), with the same draws as `bootstrap_sums`, so with
    seeds that all agree the samples equal the one-level, examples-only ones. The two runners' seeds are drawn
    independently: seed k of one model and seed k of another share a number, not a model.

    Args:
        correct_a: Per-seed correctness (0/1) of runner A, shape (S_a, n).
        correct_b: Per-seed correctness of runner B, shape (S_b, n), on the same n examples.
        n_boot: Number of resamples.
        seed: Random seed of the resampling.

    Returns:
        The differences of seed-averaged accuracy, shape (n_boot,).
    """
    correct_a, correct_b = np.atleast_2d(correct_a).astype(float), np.atleast_2d(correct_b).astype(float)
    s_a, n = correct_a.shape
    sums = bootstrap_sums(np.vstack([correct_a, correct_b]).T, n_boot, seed)  # (n_boot, S_a + S_b)
    # Streams 1 and 2: A's and B's seed draws are independent of each other and of the example draws.
    w_a = _seed_weights(s_a, n_boot, seed, stream=1)
    w_b = _seed_weights(correct_b.shape[0], n_boot, seed, stream=2)
    mean_a = (w_a * sums[:, :s_a]).sum(axis=1) / s_a
    mean_b = (w_b * sums[:, s_a:]).sum(axis=1) / correct_b.shape[0]
    return (mean_a - mean_b) / n


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: b and c are the discordant counts (A right/B wrong, A wrong/B right); the
    binomial test of b successes in b + c draws at p = 1/2 (scipy.stats.binomtest)."""
    if b + c == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(b, b + c, 0.5, alternative="two-sided").pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of `p_values` (one family of comparisons): the i-th smallest is multiplied by
    the number of hypotheses not yet rejected, kept monotone and at most 1. It controls the chance of any false
    "better" among all the comparisons at the level the adjusted values are read at; NaN stays NaN."""
    values = np.asarray(p_values, dtype=float)
    finite = np.flatnonzero(~np.isnan(values))
    adjusted = np.full(len(values), np.nan)
    order = finite[np.argsort(values[finite], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * values[i]))
        adjusted[i] = running
    return adjusted.tolist()


def paired_sign_flip_test(diff: np.ndarray, n_draws: int = N_SIGN_FLIPS, seed: int = BOOTSTRAP_SEED) -> float:
    """Two-sided p-value of a paired sign-flip (permutation) test of mean difference 0.

    Under the null hypothesis the two runners are exchangeable on each example, so each per-example difference is
    as likely to have either sign. With one seed per runner the differences are -1, 0 or 1, the test is the exact
    McNemar test and is computed exactly. With several seeds the differences are seed-averaged and the p-value is
    estimated from `n_draws` random sign flips (smallest possible value 1 / (n_draws + 1)).

    Args:
        diff: Per-example differences in integer units, shape (n,); e.g. (seed-averaged correctness of A minus
            that of B) times n_seeds_A * n_seeds_B, so that equal differences compare exactly.
        n_draws: Random sign flips when the test cannot be computed exactly.
        seed: Random seed of the sign flips.
    """
    diff = np.asarray(diff, dtype=np.int64)
    nonzero = diff[diff != 0]
    if nonzero.size == 0:
        return 1.0
    values, counts = np.unique(np.abs(nonzero), return_counts=True)
    if values.size == 1:
        return mcnemar_exact(int((nonzero > 0).sum()), int((nonzero < 0).sum()))
    observed = abs(int(nonzero.sum()))
    # The flipped sum only depends on how many of each distinct |d| keep their sign: a binomial count per value.
    kept = np.random.default_rng(seed).binomial(counts, 0.5, size=(n_draws, values.size))
    flipped = np.abs(((2 * kept - counts) * values).sum(axis=1))
    return float((1 + np.count_nonzero(flipped >= observed)) / (n_draws + 1))


def paired_permutation_test(diff: np.ndarray, n_draws: int = 20_000, seed: int = BOOTSTRAP_SEED) -> float:
    """Two-sided p-value of a paired sign-flip (permutation) test of mean difference 0 for real-valued per-example
    differences (e.g. per-document F1 of A minus B, seed-averaged), from `n_draws` random sign flips (smallest
    possible value 1 / (n_draws + 1)). Identical runners (all differences 0) give 1."""
    diff = np.asarray(diff, dtype=float)
    nonzero = diff[np.abs(diff) > 1e-12]
    if nonzero.size == 0:
        return 1.0
    observed = abs(nonzero.sum())
    rng = np.random.default_rng(seed)
    hits, chunk = 0, max(1, 2_000_000 // nonzero.size)  # bounds the (chunk, n) sign matrix
    for start in range(0, n_draws, chunk):
        signs = rng.choice((-1.0, 1.0), size=(min(chunk, n_draws - start), nonzero.size))
        hits += int(np.count_nonzero(np.abs(signs @ nonzero) >= observed - 1e-9))
    return float((1 + hits) / (n_draws + 1))


def pareto_front(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Mask of the points no other point beats: none is at most as costly and at least as good, and better in one.

    A missing cost, or one of 0 or less, is not a measurement (a run resumed before its timer started recorded 0 s):
    such a point is never on the front and never beats another.
    """
    cost, value = np.asarray(cost, dtype=float), np.asarray(value, dtype=float)
    with np.errstate(invalid="ignore"):
        valid = ~(np.isnan(cost) | np.isnan(value)) & (cost > 0)
    front = np.zeros(cost.shape, dtype=bool)
    for i in np.flatnonzero(valid):
        others = valid & (cost <= cost[i]) & (value >= value[i]) & ((cost < cost[i]) | (value > value[i]))
        front[i] = not others.any()
    return front


def _nice(x: float) -> int:
    """Round to a multiple of a quarter of x's power of ten (1250, 1500, 600, 75), so edges read easily."""
    step = max(1, int(10 ** math.floor(math.log10(max(x, 1))) / 4))
    return int(round(x / step) * step)


def length_edges(n_tokens: np.ndarray, max_lengths: list[int], min_buckets: int = 4) -> list[int]:
    """Upper edges of the document-length buckets, from the runners' max lengths and the documents' lengths.

    Edges are the runners' max lengths and the doublings between them (512, 1024, 2048, 4096), so each bucket
    says which runners see all of a document; an edge is kept only where documents fall on both of its sides.
    With a single max length, one doubling past it is added. Where that leaves fewer than `min_buckets` buckets
    (documents all longer than most max lengths, as in the demo), the quartiles of the lengths, rounded, are
    added, so the table still shows how accuracy falls as documents grow past a runner's max length.
    """
    lengths = np.asarray(n_tokens, dtype=float)
    lengths = lengths[~np.isnan(lengths)]
    if lengths.size == 0:
        return []
    candidates = {int(m) for m in max_lengths if m and m > 0}
    if candidates:
        edge, top = min(candidates), max(candidates)
        while edge < top:
            candidates.add(edge)
            edge *= 2
        if len(candidates) == 1:
            candidates.add(2 * top)
    edges = _non_empty(sorted(e for e in candidates if lengths.min() <= e < lengths.max()), lengths)
    if len(edges) + 1 < min_buckets:
        quartiles = [_nice(q) for q in np.percentile(lengths, [25, 50, 75])]
        # A quartile close to a runner's edge adds a sliver bucket, not information.
        extra = [
            q for q in quartiles if all(abs(q - e) > 0.1 * e for e in edges) and lengths.min() <= q < lengths.max()
        ]
        edges = _non_empty(sorted(set(edges) | set(extra)), lengths)
    return edges


def _non_empty(edges: list[int], lengths: np.ndarray) -> list[int]:
    """Drop edges that would leave the bucket below them empty."""
    kept: list[int] = []
    for e in edges:
        if np.any((lengths <= e) & (lengths > (kept[-1] if kept else -math.inf))):
            kept.append(e)
    return kept


def bucket_labels(edges: list[int]) -> list[str]:
    """Labels of the buckets `length_edges` defines: ≤512, 513–1024, …, >4096 (or "all" for no edges)."""
    if not edges:
        return ["all"]
    labels = [f"≤{edges[0]}"]
    labels += [f"{lo + 1}–{hi}" for lo, hi in itertools.pairwise(edges)]
    return [*labels, f">{edges[-1]}"]


def bucket_index(n_tokens: np.ndarray, edges: list[int]) -> np.ndarray:
    """Bucket of each document (bucket i holds edges[i-1] < n ≤ edges[i]); -1 where the length is unknown."""
    n_tokens = np.asarray(n_tokens, dtype=float)
    index = np.searchsorted(np.asarray(edges, dtype=float), n_tokens, side="left")
    return np.where(np.isnan(n_tokens), -1, index)
