"""A small Trainer callback of the protocol: knowing the phase that ran out of memory. (A run's CPU threads are fixed
for its whole duration, `bench.cpus`: nothing resizes them while it trains.)"""

from __future__ import annotations

from transformers import TrainerCallback


class Phase(TrainerCallback):
    """Whether the Trainer trains or evaluates, so that running out of memory can say where: a retry then makes only
    that phase's batch smaller (the validation pass follows each epoch's end; the test pass is the job's own)."""

    def __init__(self) -> None:
        self.name = "train"

    def on_step_begin(self, args, state, control, **kwargs):
        self.name = "train"

    def on_epoch_end(self, args, state, control, **kwargs):
        self.name = "eval"

    def on_prediction_step(self, args, state, control, **kwargs):
        self.name = "eval"
