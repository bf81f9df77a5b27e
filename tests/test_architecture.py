"""The house rules of docs/architecture.md, checked from the source: layers only import down, no import
circles, the report reads results only, and no file grows past 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bench"

# top to bottom; a module may import its own layer's package and any layer below, never one above
LAYERS = {
    "cli": 7,
    "api": 6,  # the Python API; the commands are a thin layer over it
    "publish": 5,  # `bench publish`: results and the report to the Hub; reads like the report (below)
    "launch": 5,
    "preflight": 5,  # `bench inspect`: reads data and builds runners' tokenizers (and train's tokenizer digest)
    "train": 4,
    "profile": 4,
    "runners": 3,
    "data": 2,
    "results": 1,  # the store: pure Python over errors only, so that data (suite names) can use it
    "config": 1,
    # the task kinds (single-label, multi-label, ...): below config, which validates a suite's task by them, and
    # below data, train and the report, which ask them; torch, datasets and scikit-learn only lazily
    "tasks": 0.6,
    "stats": 0.3,  # bootstrap, paired tests, Holm: pure numpy (scipy lazily), for the tasks and the report
    "errors": 0,
    "registry": 1,
    "host": 1,
    "cpus": 1,
    "gpu": 1,
    "output": 0,
    "version": 0,  # the distribution's name and version: the standard library only  # verbosity and progress bars: the standard library and tqdm only
}
REPORT_MAY_IMPORT = {"report", "results", "errors", "tasks", "stats", "output"}
REPORT_NEVER = {"torch", "transformers", "datasets", "tokenizers", "sklearn", "accelerate"}
PUBLISH_MAY_IMPORT = REPORT_MAY_IMPORT | {"publish"}  # the store and the report, nothing that trains


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Modules `path` imports, lazily inside functions too unless `top_level_only`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}  # `from bench.cli import report` is a module
        elif top_level_only and isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks do not run
            continue
    return names


def room(module: str) -> str | None:
    """The top-level room of a bench module (`bench.train.job` -> `train`), None for the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "bench" else None


ALL = modules()


@pytest.mark.parametrize("module", sorted(m for m in ALL if room(m) in LAYERS))
def test_no_module_imports_a_layer_above_its_own(module: str):
    own = room(module)
    for target in imports(ALL[module]):
        other = room(target)
        if (target not in ALL and target.rsplit(".", 1)[0] not in ALL) or other is None:
            continue
        assert other != "report" or own in ("cli", "api", "publish"), (
            f"{module} imports {target}: only the commands, the API and publishing may use the report"
        )
        if other in LAYERS and other != own:
            assert LAYERS[other] < LAYERS[own], (
                f"{module} (layer {own}) imports {target} (layer {other}), which is not below it"
            )


@pytest.mark.parametrize("module", sorted(m for m in ALL if room(m) == "report"))
def test_the_report_reads_results_only(module: str):
    for target in imports(ALL[module]):
        assert target.split(".")[0] not in REPORT_NEVER, f"{module} imports {target}"
        other = room(target)
        assert other is None or other in REPORT_MAY_IMPORT, f"{module} imports {target}"


@pytest.mark.parametrize("module", sorted(m for m in ALL if room(m) == "publish"))
def test_publishing_reads_results_and_the_report_only(module: str):
    for target in imports(ALL[module]):
        assert target.split(".")[0] not in REPORT_NEVER, f"{module} imports {target}"
        other = room(target)
        assert other is None or other in PUBLISH_MAY_IMPORT, f"{module} imports {target}"


def test_no_import_circles():
    graph = {m: {t for t in imports(p, top_level_only=True) if t in ALL and t != m} for m, p in ALL.items()}
    for module in ALL:  # a package imports its parent's __init__ first: count that edge too
        parent = module.rsplit(".", 1)[0]
        if parent != module and parent in ALL and parent != "bench":
            graph[module].add(parent)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1 and not (_is_package_of(nxt, node) or _is_package_of(node, nxt)):
                raise AssertionError("import circle: " + " -> ".join([*path[path.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def _is_package_of(package: str, module: str) -> bool:
    # a package's __init__ importing its own submodules (to re-export them) is not a circle, whichever of the two is
    # imported first: Python runs the __init__ first, then each submodule, which finds the package in sys.modules
    return module.startswith(package + ".")


@pytest.mark.parametrize("module", sorted(ALL))
def test_no_file_over_400_lines(module: str):
    assert len(ALL[module].read_text(encoding="utf-8").splitlines()) <= 400
