"""`bench status` plans with the options `bench run` took, so that the runs they made are found finished."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import api
from bench.cli import main


@pytest.mark.slow
def test_status_after_a_limited_run_shows_it_finished(tiny_suite_file: Path, tmp_path: Path, capsys):
    """65e8abe's `bench status` ignored --limit (and --data-dir, --set, --random-init): a run made with
    `bench run --limit 40` showed as stale, "finished with another configuration"."""
    results = tmp_path / "results"
    api.run(str(tiny_suite_file), limit=40, epochs=1, results=results, reports=None)
    capsys.readouterr()
    code = main(
        [
            "status",
            "--suite",
            str(tiny_suite_file),
            "--limit",
            "40",
            "--epochs",
            "1",
            "--results",
            str(results),
            "--format",
            "json",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["complete"] is True
    assert [run["state"] for run in document["runs"]] == ["ok"]
    # without the options the run was made with, the same run is another configuration: stale, and said so
    main(["status", "--suite", str(tiny_suite_file), "--results", str(results), "--format", "json"])
    stale = json.loads(capsys.readouterr().out)
    assert [run["state"] for run in stale["runs"]] == ["stale"] and "limit" in stale["runs"][0]["detail"]
    assert api.status(str(tiny_suite_file), limit=40, epochs=1, results=results) == document
