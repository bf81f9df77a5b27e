"""Facts about the host process that need no ML library: peak RSS, library versions, the git revision."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any


def peak_cpu_rss_mb() -> float:
    """Peak resident set size of this process in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def environment() -> dict[str, Any]:
    """Library versions, device and the project's git revision."""
    torch = sys.modules.get("torch")  # a scikit-learn run never loads torch; it is not imported just to ask

    versions = {}
    for dist in ("bench", "torch", "transformers", "datasets", "tokenizers", "accelerate", "scikit-learn", "pandas"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads() if torch else None,
        "cuda": torch.version.cuda if torch and torch.cuda.is_available() else None,
        "versions": versions,
        "git_hash": git_hash(),
    }


def git_hash() -> str | None:
    """The commit of the bench checkout (with '-dirty' if it has local changes), or None outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if head.returncode:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None
