"""The verdict at the top of the report, on constructed results for each case: a clear win, a tie, a win at a high
price, one seed against several."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.report import build_report
from tests.report_fixtures import make_record, make_test_set, predictions, prf, write_run

N = 400


def write(results: Path, right: dict[str, np.ndarray], seeds: int = 1, **fields) -> str:
    """Records and predictions of roberta-512 and longformer-512-4096, each right where `right[runner]` is true; the
    verdict paragraph of the report built from them."""
    labels, n_tokens = make_test_set(N)
    for runner, family, length in (("roberta-512", "roberta", 512), ("longformer-512-4096", "longformer", 4096)):
        for seed in range(seeds):
            preds = np.where(right[runner], labels, 1 - labels)
            record = make_record("v", runner, seed, family=family, max_length=length, metrics=prf(labels, preds),
                                 n_test=N, **fields.get(runner, {}))  # fmt: skip
            write_run(results, record, predictions(labels, preds, n_tokens))
    text = build_report(results, "v", results.parent / "report").read_text(encoding="utf-8")
    return text[text.index("## Verdict") : text.index("Suite `v`")]


def test_a_clear_win_names_the_long_context_runner_and_its_price(tmp_path: Path):
    i = np.arange(N)
    verdict = write(tmp_path / "results", {"roberta-512": i < 0.80 * N, "longformer-512-4096": i < 0.95 * N})
    assert "Reading more pays on these documents: longformer-512-4096 beats roberta-512" in verdict
    assert "longformer-512-4096: +15.00 pp over roberta-512" in verdict and "a difference" in verdict
    assert "8.0× the training time" in verdict  # the fixtures' training time grows with the max length
    assert "longer than roberta-512 reads" in verdict
    assert "test-set sampling only (one seed per runner" in verdict
    assert "longformer-512-4096 has the best accuracy (95.0%)" in verdict


def test_a_tie_names_no_winner(tmp_path: Path):
    i = np.arange(N)
    verdict = write(tmp_path / "results", {"roberta-512": i % 10 != 0, "longformer-512-4096": i % 10 != 1})
    assert "does not show any longer-reading runner better than roberta-512" in verdict
    assert "no long-context winner is named" in verdict and "Reading more pays" not in verdict
    assert "roberta-512 is the cheapest runner whose accuracy is within the uncertainty of the best" in verdict


def test_a_clear_loss_is_said_as_a_loss_not_as_no_difference(tmp_path: Path):
    """Seen on eurlex57k-minilm: the chunk runner was 1.84 pp worse (Holm p 0.002), and the verdict said "adjusted
    p >= 0.05 for all 1" while the headline called the loss "not separated"."""
    i = np.arange(N)
    verdict = write(tmp_path / "results", {"roberta-512": i < 0.95 * N, "longformer-512-4096": i < 0.80 * N})
    assert (
        "No longer-reading runner is better than roberta-512: longformer-512-4096 is worse beyond the uncertainty"
        in verdict
    )
    assert "no long-context winner is named" in verdict and "adjusted p >=" not in verdict
    assert "longformer-512-4096: -15.00 pp over roberta-512" in verdict and "a difference" in verdict
    text = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    first = text[: text.index("## ")]
    assert "Reading more costs quality here: at best longformer-512-4096 gains -15.00 pp" in first
    assert "not separated" not in first


def test_a_win_at_a_high_price_says_the_price(tmp_path: Path):
    i = np.arange(N)
    costly = {"longformer-512-4096": {"train_energy_j": 9e6, "peak_gpu_mem_train_mb": 60000.0},
              "roberta-512": {"train_energy_j": 3e5, "peak_gpu_mem_train_mb": 6000.0}}  # fmt: skip
    verdict = write(tmp_path / "results", {"roberta-512": i < 0.93 * N, "longformer-512-4096": i < 0.95 * N}, **costly)
    assert "+2.00 pp over roberta-512" in verdict
    assert "10.0× the memory" in verdict and "30.0× the energy" in verdict


def test_several_seeds_say_their_interval_covers_training_seeds(tmp_path: Path):
    i = np.arange(N)
    verdict = write(tmp_path / "results", {"roberta-512": i < 0.80 * N, "longformer-512-4096": i < 0.95 * N}, seeds=3)
    assert "with 3 or more seeds per runner" in verdict and "test-set sampling only" not in verdict


def test_a_one_runner_suite_has_nothing_to_compare_with(tmp_path: Path):
    labels, n_tokens = make_test_set(N)
    preds = np.where(np.arange(N) < 0.9 * N, labels, 1 - labels)
    write_run(tmp_path / "results", make_record("v", "roberta-512", 0, metrics=prf(labels, preds), n_test=N),
              predictions(labels, preds, n_tokens))  # fmt: skip
    text = build_report(tmp_path / "results", "v", tmp_path / "report").read_text(encoding="utf-8")
    verdict = text[text.index("## Verdict") : text.index("Suite `v`")]
    assert (
        "roberta-512 is the only runner with a result (accuracy 90.0%): there is nothing to compare it with" in verdict
    )
    assert "clear of every other runner" not in verdict
