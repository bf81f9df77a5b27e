"""Third-party runners through the `bench.runners` entry point group, and the "Adding a runner" example of docs/runners.md run
end to end. Each plugin is a fake installed distribution (a *.dist-info folder beside its module) on PYTHONPATH, and
bench runs in a subprocess, as a user's would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

RUNNERS_DOC = Path(__file__).resolve().parents[1] / "docs" / "runners.md"


def make_dist(site: Path, name: str, entry_points: dict[str, str], modules: dict[str, str], version="0.1") -> None:
    """What `pip install` leaves behind, minus the files nobody reads: metadata, entry points, the modules."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[bench.runners]\n{lines}")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)


def bench(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


GOOD = """
from bench.runners import register_runner
from bench.runners.tiny import TinyRobertaRunner

register_runner("tiny-roberta-64", max_length=64)(TinyRobertaRunner)
register_runner("tiny-roberta-bad-default", max_length=4)(TinyRobertaRunner)  # builds with an error
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    make_dist(site, "good-plugin", {"good": "good_runners"}, {"good_runners": GOOD})
    make_dist(site, "broken-plugin", {"broken": "broken_runners"}, {"broken_runners": "import no_such_module\n"})
    make_dist(site, "clashing-plugin", {"clash": "clash_runners"}, {"clash_runners": GOOD.replace("64", "512")})
    return site


def test_list_shows_plugin_runners_with_their_package_and_reports_broken_plugins(site: Path, tmp_path: Path):
    result = bench(site, tmp_path, "list")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert "tiny RoBERTa (2x64), max length 64" in lines["tiny-roberta-64"]
    assert lines["tiny-roberta-64"].endswith("[from good-plugin]")
    broken = lines["tiny-roberta-bad-default"]
    assert "BROKEN: BenchError:" in broken and "max_length must be an integer >= 8" in broken
    assert lines["roberta-512"].startswith("  roberta-512 ") and "[from" not in lines["roberta-512"]
    plugin_lines = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("plugin ")]
    assert plugin_lines[0] == (
        "plugin broken (broken-plugin) failed to load: ModuleNotFoundError: No module named 'no_such_module'"
    )
    # clash_runners registers tiny-roberta-512, which bench already has: reported, the rest unaffected
    assert re.fullmatch(
        r"plugin clash \(clashing-plugin\) failed to load: ValueError: .*already registered", plugin_lines[1]
    )


def test_asking_for_a_missing_runner_names_the_broken_plugins(site: Path, tmp_path: Path):
    result = bench(site, tmp_path, "run", "--runners", "broken-runner", "--results", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "Unknown runner 'broken-runner'" in result.stderr
    assert "Plugin 'broken (broken-plugin)' failed to load: ModuleNotFoundError" in result.stderr


def doc_files() -> dict[str, str]:
    """The fenced code blocks of docs/runners.md's "Adding a runner" whose first line is a comment naming a file
    (`# my_runners.py`)."""
    section = RUNNERS_DOC.read_text(encoding="utf-8").split("## Adding a runner", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\w+\n# (\S+)\n(.*?)```", section, flags=re.S)
    return {name: body for name, body in blocks}


@pytest.mark.slow
def test_docs_plugin_example_runs_end_to_end(tmp_path: Path):
    files = doc_files()
    assert set(files) == {"my_runners.py", "pyproject.toml", "my_suite.yaml"}
    project = tomllib.loads(files["pyproject.toml"])["project"]
    entry_points = project["entry-points"]["bench.runners"]
    site = tmp_path / "site"
    modules = {target: files[f"{target}.py"] for target in entry_points.values()}
    make_dist(site, project["name"], entry_points, modules, project["version"])
    suite = tmp_path / "my_suite.yaml"
    suite.write_text(files["my_suite.yaml"])

    listed = bench(site, tmp_path, "list")
    assert re.search(r"tiny-roberta-tail-512 .*tail truncation.*\[from bench-tail\]", listed.stdout), listed.stdout

    result = bench(site, tmp_path, "run", "--suite", str(suite), "--results", str(tmp_path / "results"))
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "results/tail-demo/runs/tail-32/seed0.json").read_text())
    assert record["status"] == "ok" and record["truncation"] == "tail" and record["max_length"] == 32
    assert record["config"]["runner"]["class"] == "TailRunner"
    assert record["config"]["runner"]["hidden_size"] == 16  # the suite's override


def test_tail_runner_from_the_docs_keeps_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import importlib

    from bench.runners import RUNNERS

    (tmp_path / "readme_tail_runners.py").write_text(doc_files()["my_runners.py"])
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(RUNNERS, "_items", dict(RUNNERS._items))  # the registration stays in this test
    monkeypatch.delitem(sys.modules, "readme_tail_runners", raising=False)
    runner = importlib.import_module("readme_tail_runners").TailRunner(max_length=8)

    class Specials:
        cls_token_id, sep_token_id = 0, 2

    assert runner.encode(list(range(10, 30)), Specials()) == [0, 24, 25, 26, 27, 28, 29, 2]
    assert runner.encode([10, 11], Specials()) == [0, 10, 11, 2]
