"""The runner registry: built-in runners register on import, third-party ones through the entry point group
`bench.runners`, loaded once, lazily, on the registry's first lookup in each process."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypeVar

from bench.errors import BenchError
from bench.registry import Registry
from bench.runners.base import Runner

GROUP = "bench.runners"


@dataclass(frozen=True)
class RunnerEntry:
    """A registered runner name: its class and the parameter values that name stands for."""

    cls: type[Runner]
    params: dict[str, Any]
    source: str = "bench"  # the distribution a plugin runner comes from

    def build(self, overrides: dict[str, Any] | None = None, name: str = "") -> Runner:
        declared = {f.name for f in dataclasses.fields(self.cls)}
        unknown = sorted(set(overrides or {}) - declared)
        if unknown:
            raise BenchError(
                f"runner '{name}' has no parameter(s) {', '.join(unknown)}; its parameters: {', '.join(sorted(declared))}"
            )
        try:
            return self.cls(**{**self.params, **(overrides or {})})
        except (TypeError, BenchError) as err:  # a bad value names the runner it was given to
            message = str(err).removeprefix(f"{self.cls.__name__}: ")
            raise BenchError(f"runner '{name}': {message}") from None


class RunnerRegistry(Registry[RunnerEntry]):
    """The runner registry; every lookup first loads the third-party runners (once)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.source = "bench"  # the distribution whose runners are registering right now
        self.plugin_errors: dict[str, str] = {}  # "entry point (distribution)" -> why it failed to load
        self._plugins_loaded = False

    @contextlib.contextmanager
    def registering_for(self, source: str) -> Iterator[None]:
        """Runners registered inside this block are recorded as coming from the distribution `source`."""
        self.source = source
        try:
            yield
        finally:
            self.source = "bench"

    def load_plugins(self) -> None:
        """Import every `bench.runners` entry point once; a plugin that fails is recorded, never raised, so one broken
        package cannot hide the runners of the others."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True  # set first: a plugin that looks runners up while loading must not recurse
        for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
            dist = getattr(ep.dist, "name", None) or "unknown package"
            with self.registering_for(dist):
                try:
                    ep.load()
                except Exception as err:  # ImportError, a registration clash, anything the plugin's module raises
                    detail = " ".join(str(err).split()) or type(err).__name__
                    self.plugin_errors[f"{ep.name} ({dist})"] = f"{type(err).__name__}: {detail}"

    def get(self, name: str) -> RunnerEntry:
        self.load_plugins()
        return super().get(name)

    def unknown_message(self, name: str) -> str:
        self.load_plugins()
        broken = "".join(f" Plugin '{p}' failed to load: {e}." for p, e in self.plugin_errors.items())
        return super().unknown_message(name) + broken

    def __contains__(self, name: object) -> bool:
        self.load_plugins()
        return super().__contains__(name)

    def __iter__(self) -> Iterator[str]:
        self.load_plugins()
        return super().__iter__()

    def __len__(self) -> int:
        self.load_plugins()
        return super().__len__()


RUNNERS = RunnerRegistry("runner")
R = TypeVar("R", bound=type[Runner])


def register_runner(name: str, **params: Any) -> Callable[[R], R]:
    """Class decorator: `@register_runner("longformer-512-4096", attention_window=512, max_length=4096)`.

    Third-party packages call it from the module their `bench.runners` entry point names (see docs/runners.md).
    """

    def decorator(cls: R) -> R:
        RUNNERS.add(name, RunnerEntry(cls, params, source=RUNNERS.source))
        return cls

    return decorator


def build_runner(name: str, overrides: dict[str, Any] | None = None, random_init: bool = False) -> Runner:
    """The runner registered as `name` (built in or from a plugin), with parameter overrides applied; `random_init`
    sets the parameter of that name where the runner has it (pretrained runners), and is ignored elsewhere (runners
    built from a config start from random weights anyway)."""
    entry = RUNNERS.get(name)
    if random_init and "random_init" in {f.name for f in dataclasses.fields(entry.cls)}:
        overrides = {**(overrides or {}), "random_init": True}
    return entry.build(overrides, name=name)
