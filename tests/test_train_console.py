"""What a person sees: short lines on the console, everything else in the run's log (`bench.train.console`), and the
sweep's estimate of the time left (`bench.launch.progress`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.launch.progress import SweepProgress
from bench.train.console import duration

WORKER = textwrap.dedent(
    """
    import os, sys, warnings
    from pathlib import Path
    from bench.train import console

    with console.capture(console.RunOutput(Path(sys.argv[1]), "[run 1/1] r · seed 0", verbose=sys.argv[2] == "1")):
        print({"loss": "0.6986", "epoch": "1"})
        warnings.warn("a library warning")
        os.write(2, b"written by C code to fd 2\\n")
        console.say("  epoch 1/1 · train loss 0.6986")
        assert console.title() == "[run 1/1] r · seed 0" and not console.live()
    print("after: back on the console")
    """
)


def run_worker(log: Path, verbose: bool) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-c", WORKER, str(log), "1" if verbose else "0"]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=root, timeout=60)


def test_capture_sends_everything_to_the_log_and_short_lines_to_the_console(tmp_path: Path):
    log = tmp_path / "runs" / "r" / "seed0.log"
    done = run_worker(log, verbose=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "  epoch 1/1 · train loss 0.6986\nafter: back on the console\n"
    assert done.stderr == ""
    text = log.read_text()
    for expected in ("[run 1/1] r · seed 0 ====", "{'loss': '0.6986'", "a library warning", "written by C code",
                     "epoch 1/1 · train loss 0.6986"):  # fmt: skip
        assert expected in text
    assert "after: back on the console" not in text

    again = run_worker(log, verbose=False)  # a resumed or retried run appends to the same log
    assert again.returncode == 0 and log.read_text().count("====") == 4


def test_verbose_keeps_short_lines_in_the_log_only(tmp_path: Path):
    # with --verbose the sweep echoes the log to the console, so a short line written to both would show twice
    log = tmp_path / "seed0.log"
    done = run_worker(log, verbose=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "after: back on the console\n"
    assert "epoch 1/1 · train loss 0.6986" in log.read_text()


def test_time_left_comes_from_finished_runs_of_the_same_runner_first():
    progress = SweepProgress(["a", "a", "b", "b"])
    assert progress.left_s() is None and "left" not in progress.line().split("elapsed")[0]
    progress.finished("a", 10.0)
    assert progress.left_s() == pytest.approx(30.0)  # nothing of b yet: b is guessed at the sweep's mean
    progress.finished("b", 50.0)
    assert progress.left_s() == pytest.approx(10.0 + 50.0)
    assert progress.line().startswith("sweep: 2/4 runs done · ") and progress.line().endswith("about 1:00 left")
    progress.skipped("a")
    progress.finished("b", 30.0)
    assert progress.left_s() == 0 and progress.line().startswith("sweep: 3/3 runs done")


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "?"), (4.4, "4 s"), (59.6, "1:00"), (187, "3:07"), (3723, "1:02:03")]
)
def test_duration(seconds, text):
    assert duration(seconds) == text


def test_epoch_progress_redraws_a_step_bar_only_on_a_terminal(monkeypatch, capsys):
    from types import SimpleNamespace

    from bench.train import console
    from bench.train.progress import EpochProgress

    def drive(live: bool) -> str:
        monkeypatch.setattr(console, "live", lambda: live)
        progress = EpochProgress("accuracy", epochs=2, min_redraw_s=0)
        state = SimpleNamespace(epoch=0, global_step=0, max_steps=20, is_world_process_zero=True)
        progress.on_train_begin(None, state, None)
        for step in range(1, 11):
            state.global_step, state.epoch = step, step / 10
            progress.on_step_end(None, state, None)
        progress.on_log(None, state, None, logs={"loss": 0.5})
        progress.on_evaluate(None, state, None, metrics={"eval_accuracy": 0.75})
        return capsys.readouterr().out

    on_terminal = drive(live=True)
    assert "\r\033[K  epoch 1/2 " + "█" * 20 + " 10/10 steps" in on_terminal
    assert on_terminal.endswith(
        "\r\033[K  epoch 1/2 · train loss 0.5000 · val accuracy 0.7500 · 0 s · about 0 s left\n"
    )
    assert drive(live=False) == "  epoch 1/2 · train loss 0.5000 · val accuracy 0.7500 · 0 s · about 0 s left\n"


def test_step_bars_only_on_a_terminal_that_one_run_has_to_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import io

    from bench.train import console

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(console._State, "console", Terminal())
    log = tmp_path / "seed0.log"
    for output, live in [
        (console.RunOutput(log), True),
        (console.RunOutput(log, bars=False), False),  # several runs at once (--jobs): their bars would fight
        (console.RunOutput(log, verbose=True), False),  # the echoed log scrolls past
    ]:
        monkeypatch.setattr(console._State, "output", output)
        assert console.live() is live
    monkeypatch.setattr(console._State, "console", io.StringIO())  # not a terminal: plain lines only
    monkeypatch.setattr(console._State, "output", console.RunOutput(log))
    assert console.live() is False
