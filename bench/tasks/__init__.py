"""Task kinds, one class each (`Task`): what a suite's `data.task` names. See `bench.tasks.base` for the contract;
a third kind is one module that subclasses `Task` and calls `register`."""

from bench.tasks import multi_label, single_label
from bench.tasks.base import Task, names, register, task_for, unregister

__all__ = ["Task", "multi_label", "names", "register", "single_label", "task_for", "unregister"]
