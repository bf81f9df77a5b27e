"""`bench list`: the suites and runners, or one suite in detail."""

from __future__ import annotations

import argparse

from bench.errors import BenchError
from bench.tasks import names, task_for

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
    from bench.data.suite import load_suite, suite_sources
    from bench.runners import RUNNERS

    if args.set and not args.suite:
        raise BenchError("--set changes a suite: name one with --suite")
    if args.suite:
        suite = load_suite(args.suite, dict(args.set))
        print(f"suite {suite.name}: {suite.description}\n")
        data = suite.data
        where = f"{data.path}@{data.revision}" if data.source == "hub" else data.files or data.synthetic
        print(f"data ({data.source}): {where}; text column {data.text_column!r}, label column {data.label_column!r}")
        print(f"seeds: {', '.join(map(str, suite.seeds))}")
        if suite.report_to:
            print(f"report_to: {', '.join(suite.report_to)}")
        print("protocol: " + ", ".join(f"{k}={v}" for k, v in vars(suite.protocol).items()))
        if suite.tune:
            from bench.data.tune import points

            grid = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in suite.tune.items())
            print(f"tune: {grid} — {len(points(suite.tune))} point(s) per runner and seed, chosen on validation "
                  f"{suite.protocol.metric_for_best_model}; test once, for the chosen point")  # fmt: skip
        print("runners:")
        for ref in suite.runners:
            runner = RUNNERS.get(ref.runner).build(ref.params, name=ref.runner)
            print(f"  {ref.name:<24} {runner.describe()} [family {runner.family}]")
        if suite.references:
            print("published results (the report shows each beside the runners of its family):")
            for r in suite.references:
                spread = f" ± {r.std:g}" if r.std is not None else ""
                metric = "" if r.metric == "accuracy" else f"{r.metric} "  # accuracy goes unsaid, as in the files
                print(f"  {r.family:<24} {metric}{r.value:g}{spread}  {r.model} — {r.source}")
        return 0
    print("suites:")
    sources, problems = suite_sources()
    for name in sorted(sources):
        origin = "" if sources[name].origin == "bench" else f"  [from {sources[name].origin}]"
        try:
            suite = load_suite(name)
            line = f"{facts(suite.description, suite.data.task):<44} {summary(suite.description, 64)}"
        except BenchError as err:  # a package's broken suite must not hide the others
            line = f"BROKEN: {err}"
        print(f"  {name:<24} {line}{origin}")
    for plugin, error in problems.items():
        print(f"  suites of {plugin} could not be read: {error}")
    print("\nrunners:")
    for name in RUNNERS:
        entry = RUNNERS.get(name)
        source = "" if entry.source == "bench" else f"  [from {entry.source}]"
        try:
            line = entry.build(name=name).describe()
        except Exception as err:  # a plugin's bad defaults or describe() must not hide the other runners
            line = f"BROKEN: {type(err).__name__}: {' '.join(str(err).split())}"
        print(f"  {name:<28} {line}{source}")
    for plugin, error in RUNNERS.plugin_errors.items():
        print(f"  plugin {plugin} failed to load: {error}")
    return 0
