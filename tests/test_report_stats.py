"""Known-answer tests of the report's statistics and number formatting."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bench.report import fmt, stats


def test_seed_stats_mean_and_sample_std():
    s = stats.seed_stats([0.80, 0.85, 0.90])
    assert s.mean == pytest.approx(0.85)
    assert s.std == pytest.approx(0.05)  # ddof=1
    assert s.n == 3


def test_seed_stats_one_seed_has_no_std_and_missing_values_are_skipped():
    s = stats.seed_stats([0.7, math.nan])
    assert (s.mean, s.n) == (0.7, 1)
    assert math.isnan(s.std)
    assert stats.seed_stats([]).n == 0


def test_mcnemar_exact_known_values():
    assert stats.mcnemar_exact(10, 0) == pytest.approx(2 / 1024)
    # 2 * (C(10,0) + C(10,1) + C(10,2) + C(10,3)) / 2**10 = 2 * 176 / 1024
    assert stats.mcnemar_exact(3, 7) == pytest.approx(0.34375)
    assert stats.mcnemar_exact(5, 5) == 1.0
    assert stats.mcnemar_exact(0, 0) == 1.0


def test_sign_flip_with_one_seed_is_exact_mcnemar():
    diff = np.array([1] * 10 + [0] * 50 + [-1] * 2)
    assert stats.paired_sign_flip_test(diff) == pytest.approx(stats.mcnemar_exact(10, 2))


def test_sign_flip_with_several_values_matches_full_enumeration():
    diff = np.array([2, 2, 1, 1, 1, 2, -1, 1, 2, 0, -2, 1])
    observed = abs(diff.sum())
    nonzero = diff[diff != 0]
    sums = [
        abs(sum(s * d for s, d in zip(signs, nonzero, strict=True)))
        for signs in itertools.product((1, -1), repeat=len(nonzero))
    ]
    exact = np.mean(np.array(sums) >= observed)
    assert stats.paired_sign_flip_test(diff) == pytest.approx(exact, abs=0.005)


def test_bootstrap_ci_matches_normal_approximation():
    labels = np.zeros(1000, dtype=int)
    preds = np.where(np.arange(1000) < 800, 0, 1)[None, :]  # accuracy 0.8
    ci = stats.bootstrap_classification(labels, preds, n_classes=2)
    se = math.sqrt(0.8 * 0.2 / 1000)
    assert ci["accuracy"][0] == pytest.approx(0.8 - 1.96 * se, abs=0.006)
    assert ci["accuracy"][1] == pytest.approx(0.8 + 1.96 * se, abs=0.006)


def test_bootstrap_ci_of_perfect_predictions_is_a_point():
    labels = np.array([0, 1] * 50)
    ci = stats.bootstrap_classification(labels, labels[None, :], n_classes=2)
    assert ci == {m: (1.0, 1.0) for m in ("accuracy", "f1", "precision", "recall")}


def test_bootstrap_is_deterministic_and_paired():
    x = np.random.default_rng(1).random((50, 1))
    a, b = stats.bootstrap_sums(x), stats.bootstrap_sums(np.hstack([x, 2 * x]))
    np.testing.assert_allclose(a[:, 0], b[:, 0])
    np.testing.assert_allclose(b[:, 1], 2 * b[:, 0])


def test_pareto_front():
    cost = np.array([1.0, 2.0, 3.0, 2.5, math.nan])
    accuracy = np.array([0.7, 0.8, 0.9, 0.75, 0.99])
    assert stats.pareto_front(cost, accuracy).tolist() == [True, True, True, False, False]


def test_length_buckets_follow_runner_lengths():
    n_tokens = np.array([100, 600, 1500, 3000, 9000])
    edges = stats.length_edges(n_tokens, [512, 4096])
    assert edges == [512, 1024, 2048, 4096]
    assert stats.bucket_labels(edges) == ["≤512", "513–1024", "1025–2048", "2049–4096", ">4096"]
    assert stats.bucket_index(n_tokens, edges).tolist() == [0, 1, 2, 3, 4]
    assert stats.bucket_index(np.array([512, 513]), edges).tolist() == [0, 1]


def test_length_buckets_adapt_when_documents_are_all_long():
    # the demo: every document longer than the short runner's 512 tokens
    n_tokens = np.random.default_rng(0).integers(1000, 2001, 400)
    labels = stats.bucket_labels(stats.length_edges(n_tokens, [512, 2048]))
    assert labels == ["≤1024", "1025–1250", "1251–1500", "1501–1750", ">1750"]


def test_formatting():
    assert fmt.metric(0.85, 0.05) == "0.850 ± 0.050"
    assert fmt.metric(0.85, math.nan) == "0.850"
    assert fmt.metric(math.nan, math.nan) == fmt.MISSING
    assert fmt.points(0.0125) == "+1.25 pp"
    assert fmt.p_value(0.0004) == "< 0.001"
    assert fmt.count(124_647_170) == "124.6 M"
    assert fmt.duration(90) == "1.5 min"
    assert fmt.best_mask([0.5, math.nan, 0.7, 0.7]) == [False, False, True, True]
    assert fmt.best_mask([3.0, 1.0], higher=False) == [False, True]


def _one_level_delta(correct_a: np.ndarray, correct_b: np.ndarray) -> np.ndarray:
    """Examples-only bootstrap samples of the seed-averaged accuracy difference, as the comparison table draws them."""
    x = np.stack([correct_a.mean(axis=0), correct_b.mean(axis=0)], axis=1)
    boot = stats.bootstrap_sums(x) / x.shape[0]
    return boot[:, 0] - boot[:, 1]


def _right_on_first(n: int, *counts: int) -> np.ndarray:
    """Per-seed correctness, shape (len(counts), n): seed k is right on the first counts[k] examples."""
    return np.stack([np.arange(n) < c for c in counts]).astype(float)


def test_two_level_bootstrap_is_wider_when_seeds_disagree():
    baseline = _right_on_first(200, 140, 140, 140)
    runner = _right_on_first(200, 120, 160, 200)  # seeds at 60%, 80% and 100%: mean +10 pp
    one = stats.percentile_ci(_one_level_delta(runner, baseline))
    two = stats.percentile_ci(stats.two_level_bootstrap_delta(runner, baseline))
    assert two[1] - two[0] > 2 * (one[1] - one[0])
    assert one[0] > 0 > two[0]  # clear on this test set, not across seeds


def test_two_level_bootstrap_equals_one_level_when_seeds_agree():
    baseline = _right_on_first(300, 210, 210, 210)
    runner = np.repeat(np.random.default_rng(3).random((1, 300)) < 0.8, 4, axis=0).astype(float)  # 4 equal seeds
    np.testing.assert_allclose(stats.two_level_bootstrap_delta(runner, baseline), _one_level_delta(runner, baseline))


def test_two_level_bootstrap_is_deterministic():
    rng = np.random.default_rng(5)
    a, b = (rng.random((3, 150)) < 0.8).astype(float), (rng.random((4, 150)) < 0.7).astype(float)
    np.testing.assert_array_equal(stats.two_level_bootstrap_delta(a, b), stats.two_level_bootstrap_delta(a, b))
    assert not np.array_equal(stats.two_level_bootstrap_delta(a, b), stats.two_level_bootstrap_delta(a, b, seed=1))


def test_bootstrap_f1_is_on_the_positive_class():
    labels = np.array([0] * 300 + [1] * 700)
    preds = labels.copy()
    preds[:100] = 1  # 100 of the 300 class-0 examples missed: F1 of class 0 = 400/500, of class 1 = 1400/1500
    on_0 = stats.bootstrap_classification(labels, preds[None, :], n_classes=2, positive=0)
    on_1 = stats.bootstrap_classification(labels, preds[None, :], n_classes=2, positive=1)
    assert on_0["f1"][0] < 0.8 < on_0["f1"][1] < 1400 / 1500
    assert 0.8 < on_1["f1"][0] < 1400 / 1500 < on_1["f1"][1]
    assert on_0["recall"][1] < 1 and on_1["recall"] == (1.0, 1.0)
    assert set(stats.bootstrap_classification(labels, preds[None, :], n_classes=2, positive=None)) == {"accuracy"}


def test_holm_adjusts_a_family_of_p_values():
    from bench.report.stats import holm

    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])  # 3 x 0.01; 2 x 0.03; kept monotone
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # at most 1
    adjusted = holm([0.02, float("nan")])
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1])  # NaN is no comparison


def test_exact_mcnemar_is_the_binomial_test_of_the_discordant_pairs():
    from bench.report.stats import mcnemar_exact

    assert mcnemar_exact(0, 10) == pytest.approx(2 * 0.5**10)
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 12) == pytest.approx(0.03515625)  # 2 x P(X <= 3), X ~ Bin(15, 1/2)


def test_quartile_edges_of_short_documents_keep_their_units():
    """Under 10 tokens a quartile edge is rounded to the token (a step of 2 would make 9 an 8; a mutant mutmut
    found surviving, benchmarks/mutations.sh)."""
    lengths = np.array([3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27])
    assert np.percentile(lengths, 25) == 9
    assert stats.length_edges(lengths, [512])[0] == 9


def test_precision_recall_f1_from_counts_are_scikit_learns_with_zero_division_0():
    """Counts where false positives outnumber true positives, one class never predicted, one never present, and a
    single document (mutants of prf_from_counts that survived benchmarks/mutations.sh)."""
    from sklearn.metrics import precision_recall_fscore_support

    cases = [([1, 1, 0, 0, 0, 0], [1, 0, 1, 1, 1, 0]), ([1, 1, 0], [0, 0, 0]), ([0, 0, 0], [1, 0, 0]), ([1], [1])]
    for labels, preds in cases:
        y, p = np.array(labels), np.array(preds)
        tp, fp, fn = (np.array([((p == a) & (y == b)).sum()]) for a, b in ((1, 1), (1, 0), (0, 1)))
        expected = precision_recall_fscore_support(y, p, average="binary", zero_division=0)[:3]
        got = [float(v[0]) for v in stats.prf_from_counts(tp, fp, fn)]
        assert got == pytest.approx(list(expected)), (labels, preds)
