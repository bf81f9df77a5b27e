"""The documentation stays true: its runnable commands run, its relative links resolve, and the README stays short.

A fenced ```bash block directly under the line `<!-- test: run -->` (invisible on GitHub and in the mkdocs site) is
run as one bash script (`set -e`, so every line must succeed) in a fresh folder, offline, with `bench` meaning this
checkout's `python -m bench`. `<!-- test: run exit=N -->` expects exit status N from a block of one command (say,
`bench status` before anything ran, which exits 1). Mark only commands that run offline in seconds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
MARKER = re.compile(r"^<!-- test: run(?: exit=(\d+))? -->\n```bash\n(.*?)^```", re.M | re.S)
# [text](target) and ![alt](target), not inside inline code; targets with a scheme or only an anchor are not files
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
README_MAX_LINES = 250


def runnable_blocks() -> list[tuple[str, int, str]]:
    """(where, expected exit status, script) of every marked block in README.md and docs/."""
    blocks = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in MARKER.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            blocks.append((f"{path.relative_to(ROOT)}:{line}", int(match.group(1) or 0), match.group(2)))
    return blocks


def test_the_docs_have_runnable_blocks():
    """The marker is in use (a typo in it would silently test nothing)."""
    places = {where.split(":")[0] for where, _, _ in runnable_blocks()}
    assert {"README.md", "docs/getting-started.md"} <= places


@pytest.mark.parametrize(("where", "status", "script"), [pytest.param(*b, id=b[0]) for b in runnable_blocks()])
def test_documented_command_runs(where: str, status: int, script: str, tmp_path: Path):
    commands = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if status:
        assert len(commands) == 1, f"{where}: a block with exit={status} must hold exactly one command"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    prelude = f'set -e\nbench() {{ "{sys.executable}" -m bench "$@"; }}\n'
    result = subprocess.run(
        ["bash", "-c", prelude + script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == status, (
        f"{where}: exit {result.returncode}, expected {status}\n{script}\nstdout:\n{result.stdout[-2000:]}\n"
        f"stderr:\n{result.stderr[-2000:]}"
    )


def test_the_marker_takes_the_next_bash_block_only():
    text = "<!-- test: run exit=2 -->\n```bash\nbench x\n```\n\n```bash\nnot me\n```\n<!-- test: run -->\n\n```bash\nno\n```\n"
    assert MARKER.findall(text) == [("2", "bench x\n")]


def relative_links(path: Path) -> list[str]:
    """The link targets of a Markdown file that name a file of the repository (anchors stripped)."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)  # code blocks hold no links
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = [m.group(1) for m in LINK.finditer(text)]
    return [t.split("#", 1)[0] for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:", t) and not t.startswith("#")]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_to_existing_files(path: Path):
    missing = [t for t in relative_links(path) if not (path.parent / t).exists()]
    assert not missing, f"{path.relative_to(ROOT)} links to files that do not exist: {missing}"


def test_link_check_catches_a_broken_link(tmp_path: Path):
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("x")
    page.write_text("[ok](there.md#a) [gone](nowhere.md) [web](https://example.org) `[code](no.md)` [top](#x)\n")
    assert relative_links(page) == ["there.md", "nowhere.md"]


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines; move detail into docs/ (at most {README_MAX_LINES})"
    )


def test_mkdocs_nav_names_existing_pages():
    """Every page in mkdocs.yml's nav exists, and every page of docs/ is in the nav (or in it commented out)."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config.split("\nnav:\n", 1)[1]
    active = re.findall(r"^\s*-\s[^#\n]*?:\s*(\S+\.md)\s*$", nav, flags=re.M)
    listed = set(re.findall(r"(\S+\.md)", nav))
    assert [page for page in active if not (ROOT / "docs" / page).exists()] == []
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").glob("**/*.md")}
    assert pages - listed == set(), "pages missing from mkdocs.yml's nav"


def test_the_demo_duration_is_the_same_in_help_and_docs():
    """`bench run --help` and the docs quote one duration for the demo (the measurements log holds the timings)."""
    from bench.cli import RUN_EXAMPLES

    demo_line = next(
        line for line in RUN_EXAMPLES.splitlines() if line.strip().startswith("bench run ") and "demo" in line
    )
    duration = re.search(r"\d+ to \d+ minutes on \d+ CPU cores", demo_line)
    assert duration, demo_line
    for page in ("README.md", "docs/getting-started.md", "docs/index.md"):
        assert duration.group(0) in (ROOT / page).read_text(encoding="utf-8"), (
            f"{page} does not say {duration.group(0)}"
        )
