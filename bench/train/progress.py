"""One compact console line per epoch (train loss, validation metric, elapsed, time left), and on a terminal a step
bar redrawn in place; the Trainer's own log dicts go to the run's log (`bench.train.console`)."""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback

from bench.train import console

BAR = 20


class EpochProgress(TrainerCallback):
    """Prints `epoch 2/4 · train loss 0.4213 · val accuracy 0.8833 · 24 s · about 24 s left` after each validation.

    Time left is the mean wall time of the epochs this process trained (validation and checkpoint included) times the
    epochs still to go; a resumed run counts only the epochs it trains itself.
    """

    def __init__(self, metric: str, epochs: int, min_redraw_s: float = 0.25) -> None:
        self.metric = metric
        self.epochs = epochs
        self.min_redraw_s = min_redraw_s
        self.started = time.perf_counter()
        self.first_epoch = 0
        self.train_loss: float | None = None
        self.live = console.live()
        self._drawn = 0.0

    def on_train_begin(self, args, state, control, **kwargs: Any) -> None:
        self.started = time.perf_counter()
        self.first_epoch = round(state.epoch or 0)  # epochs already trained by an earlier process (resume)

    def on_step_end(self, args, state, control, **kwargs: Any) -> None:
        if not self.live or not state.max_steps or not state.is_world_process_zero:
            return
        now = time.perf_counter()
        if now - self._drawn < self.min_redraw_s and state.global_step < state.max_steps:
            return
        self._drawn = now
        per_epoch = max(1, state.max_steps // max(1, self.epochs))
        epoch = min(self.epochs, (state.global_step - 1) // per_epoch + 1)  # its last step still belongs to it
        step = state.global_step - (epoch - 1) * per_epoch
        filled = round(BAR * step / per_epoch)
        bar = "█" * filled + "·" * (BAR - filled)
        console.redraw(f"  epoch {epoch}/{self.epochs} {bar} {step}/{per_epoch} steps · {self._elapsed()}")

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if logs and "loss" in logs:
            self.train_loss = float(logs["loss"])

    def on_evaluate(self, args, state, control, metrics: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero:  # one line per epoch, not one per rank
            return
        metrics = metrics or {}
        epoch = round(state.epoch or 0)
        parts = [f"epoch {epoch}/{self.epochs}"]
        if self.train_loss is not None:
            parts.append(f"train loss {self.train_loss:.4f}")
        value = metrics.get(f"eval_{self.metric}")
        if value is not None:
            parts.append(f"val {self.metric} {value:.4f}")
        elapsed = time.perf_counter() - self.started
        parts.append(self._elapsed())
        done_here = epoch - self.first_epoch
        if done_here > 0 and epoch < self.epochs:
            parts.append(f"about {console.duration(elapsed / done_here * (self.epochs - epoch))} left")
        console.clear_line()
        console.say("  " + " · ".join(parts))

    def on_train_end(self, args, state, control, **kwargs: Any) -> None:
        console.clear_line()

    def _elapsed(self) -> str:
        return console.duration(time.perf_counter() - self.started)
