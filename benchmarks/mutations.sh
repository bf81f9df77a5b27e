#!/usr/bin/env bash
# Mutation check of the modules whose mistakes change a conclusion: mutmut (pip install -e '.[mutation]') makes small
# changes to each (a flipped comparison, an off-by-one, a dropped call) and runs the fast tests that cover it; a
# mutant no test fails on "survives". Not part of the default CI (see docs/testing.md for its run time and the
# survivors): run it after changing one of these modules or their tests.
#
#   benchmarks/mutations.sh                      # every module below
#   benchmarks/mutations.sh report/stats.py      # one (or a few), as bench/<path>
#
# It works in a copy of this checkout's committed files (git archive HEAD) under $MUTATIONS_DIR (default: a new temporary
# folder), so the checkout is never mutated; the copy's mutants/ keeps mutmut's state (`cd DIR && mutmut browse`).
set -euo pipefail
cd "$(dirname "$0")/.."

# module -> the fast tests that cover it
declare -A TESTS=(
  [report/stats.py]="tests/test_report_stats.py tests/test_invariants_report.py tests/test_report_multilabel.py"
  [report/verdict.py]="tests/test_report_verdict.py tests/test_invariants_report.py"
  [report/tables.py]="tests/test_report.py tests/test_invariants_report.py"
  [data/tune.py]="tests/test_data_tune.py"
  [launch/tune.py]="tests/test_data_tune.py tests/test_launch_plan.py"
  [tasks/multi_label_metrics.py]="tests/test_train_multilabel.py tests/test_report_multilabel.py tests/test_invariants.py"
  [results/key.py]="tests/test_results_key.py tests/test_results_store.py"
  [report/budget.py]="tests/test_report_budget.py"
)
ORDER=(report/stats.py report/verdict.py report/tables.py data/tune.py launch/tune.py tasks/multi_label_metrics.py results/key.py
       report/budget.py)
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=("${ORDER[@]}")
for m in "${modules[@]}"; do
  [ -n "${TESTS[$m]:-}" ] || { echo "mutations.sh: unknown module '$m'; one of: ${ORDER[*]}" >&2; exit 2; }
done
python -c "import mutmut" 2>/dev/null || { echo "mutations.sh: mutmut is not installed: pip install -e '.[mutation]'" >&2; exit 2; }

work=${MUTATIONS_DIR:-$(mktemp -d -t bench-mutations-XXXXXX)}
mkdir -p "$work"
git archive HEAD | tar -x -C "$work"
cd "$work"
export HF_HUB_OFFLINE=1 PYTHONPATH="$work/mutants:$work"

python - "${modules[@]}" <<PY
import json, re, sys
modules = sys.argv[1:]
tests = sorted({t for m in modules for t in """$(for m in "${modules[@]}"; do echo "${TESTS[$m]}"; done)""".split()})
text = open("pyproject.toml", encoding="utf-8").read()
# mutmut runs pytest in its own process for each mutant: no xdist workers, the fast set only
text = re.sub(r' -n auto( --dist \w+)?"', '"', text)
text += "\n[tool.mutmut]\n"
text += f"source_paths = {json.dumps(['bench/' + m for m in modules])}\n"
text += 'also_copy = ["bench/", "benchmarks/", "docs/", "README.md", "mkdocs.yml"]\n'
text += f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
open("pyproject.toml", "w", encoding="utf-8").write(text)
PY

started=$(date +%s)
mutmut run || true  # survivors are its result, not a failure of this script
echo
echo "mutmut results (${modules[*]}), $(( $(date +%s) - started )) s on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg):"
mutmut results || true
echo "state kept in $work (cd there; mutmut show NAME / mutmut browse)"
