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
