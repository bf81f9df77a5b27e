"""What the report says is what was computed, read from the rendered report.md of constructed records (the numbers
expected are computed here, with scipy and numpy, not with bench's functions):

- every p-value shown as adjusted is Holm's: the records' raw and Holm-adjusted p fall on opposite sides of 0.05, and
  the verdict and the paired table must use the adjusted one;
- every figure the prose states (the calibration bins, α, the number of comparisons, the number of test documents)
  matches the computation it describes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

import bench
from tests.report_fixtures import make_record, make_test_set, predictions, prf, write_run

N = 200  # test documents
BASE_RIGHT = 150  # the baseline is right on documents 0..149
# runner: (max length, right where the baseline is wrong, wrong where it is right): one clear-looking gain whose
# raw McNemar p is under 0.05 but not its Holm p over the three comparisons, and two draws
RUNNERS = {
    "longformer-256-1024": (1024, 12, 3),
    "longformer-256-2048": (2048, 4, 4),
    "longformer-256-4096": (4096, 5, 5),
}


def mcnemar(b: int, c: int) -> float:
    return binomtest(b, b + c, 0.5).pvalue


def holm(p: dict[str, float]) -> dict[str, float]:
    """Holm's step-down adjustment, written out: the i-th smallest times (m - i), running maximum, capped at 1."""
    out, running = {}, 0.0
    for i, (name, value) in enumerate(sorted(p.items(), key=lambda kv: kv[1])):
        running = max(running, min(1.0, (len(p) - i) * value))
        out[name] = running
    return out


RAW = {r: mcnemar(b, c) for r, (_, b, c) in RUNNERS.items()}
HOLM = holm(RAW)


def test_the_constructed_case_straddles_alpha():
    gain = "longformer-256-1024"
    assert RAW[gain] < 0.05 <= HOLM[gain]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """A one-seed binary suite: roberta-512 and three longer readers, with confidences spread over [0, 1]."""
    root = tmp_path_factory.mktemp("invariants")
    labels, n_tokens = make_test_set(N)
    rng = np.random.default_rng(0)
    base_right = np.arange(N) < BASE_RIGHT
    runs = {"roberta-512": (512, base_right)}
    for runner, (length, gained, lost) in RUNNERS.items():
        right = base_right.copy()
        right[BASE_RIGHT : BASE_RIGHT + gained] = True  # right where the baseline is wrong
        right[:lost] = False  # wrong where it is right
        runs[runner] = (length, right)
    for runner, (length, right) in runs.items():
        preds = np.where(right, labels, 1 - labels)
        window = None if length == 512 else 256
        family = "roberta" if window is None else "longformer"
        record = make_record("inv", runner, 0, metrics=prf(labels, preds), device="cpu", family=family,
                             max_length=length, attention_window=window, n_test=N)  # fmt: skip
        # confidences everywhere in [0, 1], more often right where higher: ECE depends on how they are binned
        score = np.clip(np.where(right, 0.55, 0.35) + rng.uniform(-0.35, 0.45, N), 0.0, 1.0)
        write_run(root / "results", record, predictions(labels, preds, n_tokens).assign(score=score))
    out = root / "report"
    bench.report("inv", results=root / "results", out=out)
    return out


def section(text: str, title: str) -> str:
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def row_of(text: str, runner: str, where: str) -> list[str]:
    """The cells of `runner`'s row in the first markdown table after the line containing `where`."""
    after = text[text.index(where) :]
    for line in after.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and runner in cells[0]:
            return cells
    raise AssertionError(f"no row for {runner} after {where!r}")


def p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def test_the_verdict_reads_the_holm_p_values(report: Path):
    text = (report / "report.md").read_text(encoding="utf-8")
    verdict = section(text, "Verdict")
    for runner in RUNNERS:
        line = next(s for s in re.split(r"(?<=\.)\s+|\n", verdict) if s.lstrip("-* ").startswith(runner))
        assert f"Holm-adjusted p {p_text(HOLM[runner])}" in line, line
        assert "not separated" in line, line  # judged at the adjusted p, which is over 0.05 for every runner
    assert "no long-context winner is named" in verdict
    assert "Reading more pays" not in verdict


def test_the_paired_table_shows_the_holm_p_value_and_judges_by_it(report: Path):
    text = (report / "report.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if "p-value (Holm)" in line)
    columns = [c.strip() for c in header.strip().strip("|").split("|")]
    for runner in RUNNERS:
        cells = row_of(text, runner, header)
        p_cell = cells[columns.index("p-value (Holm)")]
        assert p_cell.startswith(p_text(HOLM[runner])) and f"raw {p_text(RAW[runner])}" in p_cell, p_cell
        assert cells[columns.index("verdict")] == "no clear difference", cells


def test_the_prose_states_what_was_computed(report: Path):
    """The number of comparisons and of test documents, α, and the calibration's bins, as the report text states
    them, are those of the computation (the ECE recomputed here with the stated number of bins)."""
    text = (report / "report.md").read_text(encoding="utf-8")
    n_comparisons = int(re.search(r"Holm-adjusted over the table's (\d+) comparisons", text).group(1))
    assert n_comparisons == len(RUNNERS)
    n_docs = int(re.search(r"on the same ([\d,]+) test examples", text).group(1).replace(",", ""))
    assert n_docs == N
    alphas = re.findall(r"adjusted p \\?(?:<|>=|≥) (0\.\d+)|read at (0\.\d+)", text)
    assert len(alphas) >= 3 and {float(a or b) for a, b in alphas} == {0.05}  # the α the verdicts were judged at
    assert int(re.search(r"adjusted p \\?>= 0\.05 for all (\d+)\)", text).group(1)) == len(RUNNERS)
    # "on the K test documents (S%) longer than roberta-512 reads": its 510 tokens of content (512 minus 2 specials)
    _, n_tokens = make_test_set(N)
    longer = re.findall(r"on the ([\d,]+) test documents \((\d+)%\) longer than roberta-512 reads", text)
    assert longer and set(longer) == {(f"{(n_tokens > 510).sum():,}", f"{(n_tokens > 510).mean():.0%}"[:-1])}

    bins = int(re.search(r"(\d+) equal-width bins", text).group(1))
    shown = pd.read_csv(report / "tables" / "calibration.csv").set_index("runner")
    for runner in ("roberta-512", *RUNNERS):
        frame = pd.read_csv(report.parent / "results" / "inv" / "runs" / runner / "seed0.predictions.csv")
        conf = frame["score"].to_numpy(float)
        right = (frame["label"] == frame["pred"]).to_numpy(float)
        index = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
        ece = sum(
            (index == b).sum() / len(conf) * abs(right[index == b].mean() - conf[index == b].mean())
            for b in range(bins)
            if (index == b).any()
        )
        assert shown.loc[runner, "ece"] == pytest.approx(ece, rel=1e-5), runner
    edges = pd.read_csv(report / "tables" / "reliability_bins.csv")[["low", "high"]].to_numpy().ravel()
    assert np.allclose(edges * bins, np.round(edges * bins))  # the bins drawn are the stated ones
