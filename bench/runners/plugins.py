"""Third-party runners: each entry point of the group `bench.runners` names a module whose `@register_runner` calls
register its runners. Loaded once, on the registry's first lookup, in every process that looks a runner up."""

from __future__ import annotations

from importlib import metadata

from bench.runners import base

GROUP = "bench.runners"
PLUGIN_ERRORS: dict[str, str] = {}  # "entry point (distribution)" -> why it failed to load
_LOADED: list[bool] = [False]


def load_plugins() -> None:
    """Import every `bench.runners` entry point once; a plugin that fails is recorded, never raised, so one broken
    package cannot hide the runners of the others."""
    if _LOADED[0]:
        return
    _LOADED[0] = True  # set first: a plugin that looks runners up while loading must not recurse
    for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
        dist = getattr(ep.dist, "name", None) or "unknown package"
        base._CURRENT_SOURCE[0] = dist
        try:
            ep.load()
        except Exception as err:  # ImportError, a registration clash, anything the plugin's module raises
            detail = " ".join(str(err).split()) or type(err).__name__
            PLUGIN_ERRORS[f"{ep.name} ({dist})"] = f"{type(err).__name__}: {detail}"
        finally:
            base._CURRENT_SOURCE[0] = "bench"
