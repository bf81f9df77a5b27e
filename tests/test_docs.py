"""The documentation stays true: its runnable commands run, its relative links resolve, and the README stays short.

A fenced ```bash block directly under the line `<!-- test: run -->` (invisible on GitHub and in the mkdocs site) is
run as one bash script (`set -e`, so every line must succeed) in a fresh folder, offline, with `bench` meaning this
checkout's `python -m bench`. `<!-- test: run exit=N -->` expects exit status N from a block of one command (say,
`bench status` before anything ran, which exits 1). Mark only commands that run offline in seconds.

A fenced block right after a marked block (blank lines between), under the line `<!-- test: output -->`, is what the
block prints: each of its non-empty lines must be a line of the script's output (its stdout, then its stderr), in
that order, other lines may come between. Lines are compared whole, without leading and trailing whitespace; `…`
(or `...`) inside a line matches any text, for what changes from run to run (timings, paths) or is left out."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
OUTPUT_MARKER = "<!-- test: output -->"
MARKER = re.compile(
    r"^<!-- test: run(?: exit=(\d+))? -->\n```bash\n(.*?)^```[ \t]*(?:\n|\Z)"
    r"(?:\s*^" + re.escape(OUTPUT_MARKER) + r"\n```\w*\n(.*?)^```)?",
    re.M | re.S,
)
WILDCARD = re.compile(r"…|\.\.\.")
# [text](target) and ![alt](target), not inside inline code; targets with a scheme or only an anchor are not files
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
README_MAX_LINES = 250


def blocks_in(text: str, name: str) -> list[tuple[str, int, str, str | None]]:
    """(where, expected exit status, script, expected output or None) of every marked block of one page."""
    blocks = []
    for match in MARKER.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        blocks.append((f"{name}:{line}", int(match.group(1) or 0), match.group(2), match.group(3)))
    return blocks


def runnable_blocks() -> list[tuple[str, int, str, str | None]]:
    """Every marked block in README.md and docs/."""
    pages = ((path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))) for path in DOCS)
    return [block for text, name in pages for block in blocks_in(text, name)]


def first_line_missing(expected: str, output: str) -> str | None:
    """The first non-empty line of `expected` that `output` lacks (in order, compared whole), or None if none is."""
    lines = [line.strip() for line in output.splitlines()]
    at = 0
    for want in filter(None, (line.strip() for line in expected.splitlines())):
        pattern = re.compile(".*".join(re.escape(part) for part in WILDCARD.split(want)))
        found = next((i for i in range(at, len(lines)) if pattern.fullmatch(lines[i])), None)
        if found is None:
            return want
        at = found + 1
    return None


def check_block(where: str, status: int, script: str, expected: str | None, cwd: Path) -> None:
    """Run one block as the docs test does; fail on another exit status or on expected output not printed."""
    commands = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if status:
        assert len(commands) == 1, f"{where}: a block with exit={status} must hold exactly one command"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "80",  # argparse wraps --help to the terminal's width: one width for every machine
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    prelude = f'set -e\nbench() {{ "{sys.executable}" -m bench "$@"; }}\n'
    result = subprocess.run(
        ["bash", "-c", prelude + script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    shown = f"{script}\nstdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-2000:]}"
    assert result.returncode == status, f"{where}: exit {result.returncode}, expected {status}\n{shown}"
    if expected is not None:
        missing = first_line_missing(expected, result.stdout + "\n" + result.stderr)
        assert missing is None, (
            f"{where}: the page shows a line the command did not print (in order):\n{missing}\n{shown}"
        )


def test_the_docs_have_runnable_blocks():
    """The marker is in use (a typo in it would silently test nothing)."""
    places = {where.split(":")[0] for where, *_ in runnable_blocks()}
    assert {"README.md", "docs/getting-started.md"} <= places


def test_every_output_block_belongs_to_a_marked_block():
    """An output marker anywhere else (prose or another block in between) would check nothing: it is an error."""
    attached = [where for where, _, _, expected in runnable_blocks() if expected is not None]
    own_line = re.compile(rf"^{re.escape(OUTPUT_MARKER)}[ \t]*$", re.M)  # not where prose quotes it in `code`
    placed = sum(len(own_line.findall(path.read_text(encoding="utf-8"))) for path in DOCS)
    assert len(attached) == placed, f"{placed} output markers, {len(attached)} under a marked block: {attached}"
    empty = [where for where, _, _, expected in runnable_blocks() if expected is not None and not expected.strip()]
    assert not empty, f"empty output blocks: {empty}"


@pytest.mark.parametrize(
    ("where", "status", "script", "expected"), [pytest.param(*b, id=b[0]) for b in runnable_blocks()]
)
def test_documented_command_runs(where: str, status: int, script: str, expected: str | None, tmp_path: Path):
    check_block(where, status, script, expected, tmp_path)


def test_the_marker_takes_the_next_bash_block_only():
    text = "<!-- test: run exit=2 -->\n```bash\nbench x\n```\n\n```bash\nnot me\n```\n<!-- test: run -->\n\n```bash\nno\n```\n"
    assert MARKER.findall(text) == [("2", "bench x\n", "")]


def test_the_output_marker_takes_the_block_right_after():
    text = "<!-- test: run -->\n```bash\nbench x\n```\n\n<!-- test: output -->\n```text\nshown\n```\n"
    assert blocks_in(text, "p") == [("p:1", 0, "bench x\n", "shown\n")]
    between = "<!-- test: run -->\n```bash\nbench x\n```\nprose\n<!-- test: output -->\n```text\nshown\n```\n"
    assert blocks_in(between, "p") == [("p:1", 0, "bench x\n", None)]


def test_expected_lines_occur_in_order_compared_whole():
    output = "header\n  4 pending   \nfiles: a, b\nTook 1.2 s.\n"
    assert first_line_missing("4 pending\n\n   files: a, b", output) is None  # gaps, blank lines, whitespace
    assert first_line_missing("Took … s.\nfiles: a, ...", output) == "files: a, ..."  # out of order
    assert first_line_missing("header\nTook … s.", output) is None
    assert first_line_missing("files: …", output) is None
    assert first_line_missing("pending", output) == "pending"  # a part of a line is not the line
    assert first_line_missing("14 pending", output) == "14 pending"
    assert first_line_missing("Took 1.2 s", output) == "Took 1.2 s"  # `.` is literal, only `...` is a wildcard


def test_a_drifted_page_fails(tmp_path: Path):
    """A page that shows what the program no longer prints (the stale list of suites) fails the docs test."""
    page = (
        "<!-- test: run exit=2 -->\n```bash\nbench run --suite nope\n```\n\n<!-- test: output -->\n```text\n"
        "bench: error: Unknown suite 'nope'. Available: demo, imdb, imdb-minilm. A user suite is …\n```\n"
    )
    [block] = blocks_in(page, "stale.md")
    with pytest.raises(AssertionError, match="did not print") as failure:  # the exit status was right: 2
        check_block(*block, tmp_path)
    assert "Available: 20news, " in str(failure.value)  # and the message shows what the command printed


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
