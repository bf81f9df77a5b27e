"""The distribution: a name of its own on PyPI (`bench` there is an unrelated project) in every install hint, and
every third-party package bench imports declared in pyproject.toml."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalized (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()


def test_no_text_tells_anyone_to_install_the_pypi_bench():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    # an install hint naming PyPI's bench with an extra (it may break across lines, so the quoted name followed by a
    # bracket counts anywhere), and a plugin whose dependencies list names it
    hints = re.compile(
        r"""pip install[^\n`]*?['"]?(?<![\w-])bench\[|['"](?<![\w-])bench\[|dependencies = \[[^\]]*["']bench["']"""
    )
    found = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in (".py", ".md", ".toml", ".yaml", ".yml", ".txt", "") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            found += [f"{name}: {m.group(0)}" for m in hints.finditer(text)]
    assert found == []
    assert PROJECT["name"] == "longdoc-bench" and PROJECT["scripts"] == {"bench": "bench.cli:main"}


def test_every_imported_third_party_package_is_declared():
    declared = {_name(r) for r in PROJECT["dependencies"]}
    declared |= {_name(r) for extra in PROJECT["optional-dependencies"].values() for r in extra}
    distributions = metadata.packages_distributions()
    missing = {}
    for path in (ROOT / "bench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top == "bench" or top in sys.stdlib_module_names:
                    continue
                dists = {_name(d) for d in distributions.get(top, [])}  # an import not installed here is not checked
                if dists and not dists & declared:
                    missing.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    assert missing == {}
