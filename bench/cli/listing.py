"""`bench list`: the suites and runners, or one suite in detail."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from bench import output
from bench.errors import BenchError
from bench.tasks import names, task_for

if TYPE_CHECKING:
    from bench.config import SuiteConfig

# a sentence ends at . ! or ? before a space, but not after "et al." or "e.g." (a citation is not a sentence end)
SENTENCE_END = r"(?<!\bal\.)(?<!e\.g\.)(?<!i\.e\.)(?<=[.!?])\s"


def facts(description: str, task: str) -> str:
    """The short column of `bench list`: the task kind (a description's "Task: binary ..." sentence, else the suite's
    data.task) and its length statistics (a "Lengths: median ..." or "Lengths: mean ..." sentence; where a suite
    states none, the command that measures them)."""
    import re

    text = " ".join(description.split())
    kind = re.search(r"\bTask: ([\w-]+)", text)
    lengths = re.search(r"\bLengths[^:]*: ((?:mean|median) .*?)(?=\.\s|\.$|$)", text)
    measured = lengths.group(1) if lengths else "lengths: bench inspect"
    return f"{kind.group(1) if kind else (task_for(task).title if task in names() else task)}, {measured}"


def summary(description: str, width: int = 96) -> str:
    """A description's first sentence, shortened at a word (never inside one) to fit one line of the listing."""
    import re
    import textwrap

    text = " ".join(description.split())
    first = re.split(SENTENCE_END, text, maxsplit=1)[0]
    wrapper = textwrap.TextWrapper(width, max_lines=1, placeholder=" …", break_on_hyphens=False, break_long_words=False)
    return wrapper.fill(first)


def run(args: argparse.Namespace) -> int:
    from bench.cli import essential, print_json
    from bench.data.suite import load_suite

    if args.set and not args.suite:
        raise BenchError("--set changes a suite: name one with --suite")
    if args.suite:
        suite = load_suite(args.suite, dict(args.set))
        document = suite_document(suite)
        if args.format == "json":
            print_json(document)
        else:
            print_suite(suite, document)
            for runner in document["runners"] if output.quiet() else ():  # under -q: its runners, one a line
                essential(runner["name"])
        return 0
    document = catalogue()
    if args.format == "json":
        print_json(document)
        return 0
    if output.quiet():  # one name a line, each with its kind: `bench list -q | awk '$1 == "runner" {print $2}'`
        for kind in ("suite", "runner"):
            for entry in document[f"{kind}s"]:
                essential(f"{kind} {entry['name']}")
        return 0
    print("suites:")
    width = max((len(entry["facts"] or "") for entry in document["suites"]), default=0)  # one column, aligned
    for entry in document["suites"]:
        origin = "" if entry["origin"] == "bench" else f"  [from {entry['origin']}]"
        line = f"BROKEN: {entry['error']}" if entry["error"] else f"{entry['facts']:<{width}}  {entry['summary']}"
        print(f"  {entry['name']:<24} {line}{origin}")
    for plugin, error in document["problems"]["suites"].items():
        print(f"  suites of {plugin} could not be read: {error}")
    print("\nrunners:")
    for entry in document["runners"]:
        source = "" if entry["source"] == "bench" else f"  [from {entry['source']}]"
        line = f"BROKEN: {entry['error']}" if entry["error"] else entry["description"]
        print(f"  {entry['name']:<28} {line}{source}")
    for plugin, error in document["problems"]["runners"].items():
        print(f"  plugin {plugin} failed to load: {error}")
    return 0


def catalogue() -> dict[str, Any]:
    """`bench list --json`: every suite and runner. Keys: `suites` (name, origin, task, facts, summary,
    description, error), `runners` (name, source, family, description, error), `problems` (`suites` and `runners`:
    plugin -> why it could not be read). `error` is null unless the entry could not be built; then the
    other fields but the name and origin are null."""
    from bench.data.suite import load_suite, suite_sources
    from bench.runners import RUNNERS

    sources, suite_problems = suite_sources()
    suites = []
    for name in sorted(sources):
        entry = dict.fromkeys(("task", "facts", "summary", "description", "error"))
        entry = {"name": name, "origin": sources[name].origin, **entry}
        try:
            suite = load_suite(name)
            text = suite.description
            entry["task"], entry["facts"] = suite.data.task, facts(text, suite.data.task)
            entry["summary"], entry["description"] = summary(text, 64), " ".join(text.split())
        except BenchError as err:  # a package's broken suite must not hide the others
            entry["error"] = str(err)
        suites.append(entry)
    runners = []
    for name in RUNNERS:
        registered = RUNNERS.get(name)
        entry = {"name": name, "source": registered.source, "family": None, "description": None, "error": None}
        try:
            runner = registered.build(name=name)
            entry |= {"family": runner.family, "description": runner.describe()}
        except Exception as err:  # a plugin's bad defaults or describe() must not hide the other runners
            entry["error"] = f"{type(err).__name__}: {' '.join(str(err).split())}"
        runners.append(entry)
    problems = {"suites": dict(suite_problems), "runners": dict(RUNNERS.plugin_errors)}
    return {"suites": suites, "runners": runners, "problems": problems}


def suite_document(suite: SuiteConfig) -> dict[str, Any]:
    """`bench list --suite NAME --json`. Keys: `name`, `description`, `task`, `data` (source, path, revision,
    files, synthetic, text_column, label_column), `seeds`, `report_to`, `protocol` (every protocol key), `tune`
    (key -> values, or null), `tune_points`, `runners` (name, runner, params, family, description), `references`
    (family, metric, value, std, model, source)."""
    from bench.runners import RUNNERS

    data = suite.data
    runners = []
    for ref in suite.runners:
        runner = RUNNERS.get(ref.runner).build(ref.params, name=ref.runner)
        params = dict(ref.params or {})
        runners.append(
            {
                "name": ref.name,
                "runner": ref.runner,
                "params": params,
                "family": runner.family,
                "description": runner.describe(),
            }
        )
    points = None
    if suite.tune:
        from bench.data.tune import points as grid_points

        points = len(grid_points(suite.tune))
    return {
        "name": suite.name,
        "description": " ".join(suite.description.split()),
        "task": data.task,
        "data": {
            "source": data.source,
            "path": data.path,
            "revision": data.revision,
            "files": data.files,
            "synthetic": data.synthetic,
            "text_column": data.text_column,
            "label_column": data.label_column,
        },
        "seeds": list(suite.seeds),
        "report_to": list(suite.report_to or ()),
        "protocol": dict(vars(suite.protocol)),
        "tune": {k: list(v) for k, v in suite.tune.items()} if suite.tune else None,
        "tune_points": points,
        "runners": runners,
        "references": [
            {
                "family": r.family,
                "metric": r.metric,
                "value": r.value,
                "std": r.std,
                "model": r.model,
                "source": r.source,
            }
            for r in suite.references
        ],
    }


def print_suite(suite: SuiteConfig, document: dict[str, Any]) -> None:
    """`bench list --suite NAME` as text."""
    print(f"suite {suite.name}: {suite.description}\n")
    data = suite.data
    where = f"{data.path}@{data.revision}" if data.source == "hub" else data.files or data.synthetic
    print(f"data ({data.source}): {where}; text column {data.text_column!r}, label column {data.label_column!r}")
    print(f"seeds: {', '.join(map(str, suite.seeds))}")
    if suite.report_to:
        print(f"report_to: {', '.join(suite.report_to)}")
    print("protocol: " + ", ".join(f"{k}={v}" for k, v in vars(suite.protocol).items()))
    if suite.tune:
        grid = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in suite.tune.items())
        print(
            f"tune: {grid} — {document['tune_points']} point(s) per runner and seed, chosen on validation "
            f"{suite.protocol.metric_for_best_model}; test once, for the chosen point"
        )
    print("runners:")
    for runner in document["runners"]:
        print(f"  {runner['name']:<24} {runner['description']} [family {runner['family']}]")
    if suite.references:
        print("published results (the report shows each beside the runners of its family):")
        for r in suite.references:
            spread = f" ± {r.std:g}" if r.std is not None else ""
            metric = "" if r.metric == "accuracy" else f"{r.metric} "  # accuracy goes unsaid, as in the files
            print(f"  {r.family:<24} {metric}{r.value:g}{spread}  {r.model} — {r.source}")
