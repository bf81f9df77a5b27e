"""bench's own version and the name pip knows it by, at the bottom of the house: `bench --version`, the records'
`versions["bench"]`."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

# the name pip knows bench by (pyproject.toml's [project].name): "bench" on PyPI is an unrelated project
DISTRIBUTION = "longdoc-bench"


def _version() -> str:
    """The installed distribution's version; from a clone that is not installed, pyproject.toml's."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        import tomllib

        try:
            project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text("utf-8"))["project"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"
        return str(project["version"]) if project.get("name") == DISTRIBUTION else "unknown"


__version__ = _version()
