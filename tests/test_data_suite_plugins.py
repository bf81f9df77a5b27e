"""Suites shipped by other packages through the `bench.suites` entry point group: found by name, listed with the
package they come from, and a broken package never hides the others. Each package is a fake installed
distribution (a *.dist-info folder beside its module) on PYTHONPATH; bench runs in a subprocess, as a user's would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.cli.listing import summary
from bench.data.suite import builtin_suites

DEMO = builtin_suites()["demo"].read_text(encoding="utf-8")


def make_suite_package(site: Path, dist: str, module: str, entry_points: dict[str, str], files: dict[str, str]) -> None:
    """A package whose module folder holds suite files, and its metadata naming them under `bench.suites`."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[bench.suites]\n{lines}")
    package = site / module
    (package / "suites").mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from pathlib import Path\nSUITES = Path(__file__).parent / 'suites'\n"
        "def one():\n    return SUITES / 'acme-news.yaml'\n"
    )
    for name, text in files.items():
        (package / "suites" / name).write_text(text)


def bench(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_package_ships_suites_that_are_listed_and_loaded_by_name(tmp_path: Path):
    site = tmp_path / "site"
    acme = DEMO.replace("name: demo", "name: acme-news").replace("Offline demo:", "Acme's news desk, offline:")
    make_suite_package(site, "acme-suites", "acme_suites", {"all": "acme_suites:SUITES"}, {"acme-news.yaml": acme})
    make_suite_package(
        site,
        "broken-suites",
        "broken_suites",
        {"missing": "broken_suites:NOT_THERE", "clash": "broken_suites:SUITES"},
        {"demo.yaml": DEMO},  # takes bench's own name: refused, bench's demo stays
    )
    listing = bench(site, tmp_path, "list")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    (acme_line,) = [line for line in lines if line.strip().startswith("acme-news ")]
    assert "Acme's news desk, offline" in acme_line and acme_line.endswith("[from package acme-suites]")
    (demo_line,) = [line for line in lines if line.strip().startswith("demo ")]
    assert "[from" not in demo_line  # bench's own suite, not the clashing copy
    assert any("missing (broken-suites)" in line and "AttributeError" in line for line in lines), listing.stdout
    assert any("clash (broken-suites)" in line and "'demo' is already bench's" in line for line in lines)

    detail = bench(site, tmp_path, "list", "--suite", "acme-news")
    assert detail.returncode == 0, detail.stderr
    assert detail.stdout.startswith("suite acme-news: Acme's news desk")


def test_an_entry_point_may_name_one_file_through_a_callable(tmp_path: Path):
    site = tmp_path / "site"
    acme = DEMO.replace("name: demo", "name: acme-news")
    make_suite_package(site, "acme-one", "acme_one", {"news": "acme_one:one"}, {"acme-news.yaml": acme})
    detail = bench(site, tmp_path, "list", "--suite", "acme-news")
    assert detail.returncode == 0 and detail.stdout.startswith("suite acme-news:"), detail.stderr


def test_an_unknown_suite_name_lists_the_installed_ones(tmp_path: Path):
    site = tmp_path / "site"
    make_suite_package(site, "acme-suites", "acme_suites", {"all": "acme_suites:SUITES"}, {"acme-news.yaml": DEMO})
    result = bench(site, tmp_path, "list", "--suite", "acme-new")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "acme-news" in result.stderr and "Traceback" not in result.stderr


def test_the_listing_never_cuts_a_description_inside_a_word():
    text = "A real pretrained model on real IMDB, small enough for a CPU: sentence-transformers/all-MiniLM-L6-v2 (BERT)"
    line = summary(text, width=80)
    assert line.endswith(" …") and len(line) <= 80
    kept = line.removesuffix(" …").split()
    assert kept == text.split()[: len(kept)]  # whole words only: no "all-" left of a hyphenated name
    assert summary("One sentence. And another one.") == "One sentence."
    assert summary("Short.\nSecond line") == "Short."


def test_report_on_a_suite_that_does_not_exist_suggests_no_impossible_command(tmp_path: Path):
    (tmp_path / "results" / "demo" / "runs").mkdir(parents=True)
    result = bench(tmp_path / "site", tmp_path, "report", "--suite", "nothing")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "no suite named 'nothing'" in result.stderr and "bench run --suite nothing" not in result.stderr
    assert "demo" in result.stderr and not (tmp_path / "reports").exists()
