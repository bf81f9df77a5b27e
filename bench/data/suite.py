"""Load suites: built-in ones by name, user ones from a YAML or TOML file; both use the same format."""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bench.config import DataConfig, ProtocolConfig, RunnerRef, SuiteConfig
from bench.errors import BenchError

SUITE_KEYS = {"name", "description", "data", "runners", "protocol", "seeds"}
RUNNER_KEYS = {"runner", "alias"}  # every other key of a runner entry is a runner parameter


def builtin_suites() -> dict[str, Path]:
    """Names of the suites shipped with bench, mapped to their files."""
    folder = resources.files("bench.data") / "suites"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def load_suite(name_or_path: str) -> SuiteConfig:
    """A suite by built-in name or from a .yaml/.yml/.toml file."""
    builtins = builtin_suites()
    if name_or_path in builtins:
        return parse_suite_file(builtins[name_or_path])
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml", ".toml"):
        if not path.is_file():
            raise BenchError(f"suite file {path} does not exist; check the path")
        return parse_suite_file(path)
    from bench.registry import Registry

    known: Registry[Path] = Registry("suite")
    for key, value in builtins.items():
        known.add(key, value)
    raise BenchError(known.unknown_message(name_or_path) + " A user suite is a path to a .yaml or .toml file.")


def parse_suite_file(path: Path) -> SuiteConfig:
    text = _read_text(path)
    try:
        raw = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as err:
        detail = " ".join(str(err).split())
        mark = getattr(err, "problem_mark", None)
        if mark is not None:  # PyYAML's message quotes the text around the error; line and problem say it better
            detail = f"line {mark.line + 1}, column {mark.column + 1}: {getattr(err, 'problem', None) or detail}"
        raise BenchError(f"suite file {path} is not valid {path.suffix[1:].upper()}: {detail}") from None
    if not isinstance(raw, dict):
        raise BenchError(f"suite file {path} must be a mapping with keys {', '.join(sorted(SUITE_KEYS))}")
    return suite_from_dict(raw, source=path, default_name=path.stem)


def suite_from_dict(raw: dict[str, Any], source: Path | None = None, default_name: str = "suite") -> SuiteConfig:
    where = f"suite file {source}" if source else "suite"
    _check_keys(where, raw, SUITE_KEYS)
    if "data" not in raw or not isinstance(raw["data"], dict):
        raise BenchError(f"{where} needs a 'data:' mapping (source, files or path, text_column, label_column)")
    data_raw = dict(raw["data"])
    _check_keys(f"{where} data", data_raw, {f.name for f in dataclasses.fields(DataConfig)})
    if data_raw.get("label_names") is not None:
        data_raw["label_names"] = tuple(str(n) for n in data_raw["label_names"])
    protocol_raw = raw.get("protocol") or {}
    if not isinstance(protocol_raw, dict):
        raise BenchError(f"{where}: 'protocol' must be a mapping of settings")
    _check_keys(f"{where} protocol", protocol_raw, {f.name for f in dataclasses.fields(ProtocolConfig)})
    runners_raw = raw.get("runners") or []
    if not isinstance(runners_raw, list):
        raise BenchError(f"{where}: 'runners' must be a list of runner names or mappings")
    seeds = raw.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds:
        raise BenchError(f"{where}: 'seeds' must be a non-empty list of integers")
    try:
        data = DataConfig(**data_raw)
        protocol = ProtocolConfig(**protocol_raw)
    except TypeError as err:
        raise BenchError(f"{where}: {err}") from None
    return SuiteConfig(
        name=str(raw.get("name") or default_name),
        description=str(raw.get("description") or "").strip(),
        data=data,
        runners=tuple(_runner_ref(where, r) for r in runners_raw),
        protocol=protocol,
        seeds=tuple(seeds),
        source_file=str(source) if source else None,
    )


def _runner_ref(where: str, entry: Any) -> RunnerRef:
    if isinstance(entry, str):
        return RunnerRef(runner=entry)
    if isinstance(entry, dict) and isinstance(entry.get("runner"), str):
        params = {k: v for k, v in entry.items() if k not in RUNNER_KEYS}
        return RunnerRef(runner=entry["runner"], params=params, alias=entry.get("alias"))
    raise BenchError(f"{where}: each runner is a name or a mapping with a 'runner:' key, got {entry!r}")


def _check_keys(where: str, raw: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise BenchError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BenchError(f"suite file {path} is not UTF-8 text; save it as UTF-8") from None
    except OSError as err:
        raise BenchError(f"cannot read suite file {path}: {err.strerror}") from None
