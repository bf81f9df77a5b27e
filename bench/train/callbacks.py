"""Small Trainer callbacks of the protocol: sharing the CPUs with other runs, and knowing the phase that ran out of
memory."""

from __future__ import annotations

from transformers import TrainerCallback

from bench.host import rebalance_threads


class ShareCpus(TrainerCallback):
    """Resize torch's thread pool while training when other bench runs start or end on the same CPUs."""

    def on_step_begin(self, args, state, control, **kwargs):
        rebalance_threads()

    def on_prediction_step(self, args, state, control, **kwargs):
        rebalance_threads()


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
