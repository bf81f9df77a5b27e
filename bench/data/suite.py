"""Load suites: built-in ones by name, user ones from a YAML or TOML file; both use the same format."""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

import bench.tasks as tasks
from bench.config import (
    SINGLE_LABEL,
    DataConfig,
    EnergyConfig,
    ProtocolConfig,
    Reference,
    RunnerRef,
    SuiteConfig,
    trackers,
)
from bench.data.tune import parse_grid
from bench.errors import BenchError
from bench.results.store import RESERVED, check_name

SUITE_KEYS = {
    *("name", "description", "data", "runners", "protocol", "seeds", "report_to", "references", "tune"),
    *("energy", "keep_model"),  # what is recorded and kept about a run (not in its configuration key)
}
RUNNER_KEYS = {"runner", "alias"}  # every other key of a runner entry is a runner parameter
REFERENCE_KEYS = {f.name for f in dataclasses.fields(Reference)}


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, reading `2e-5` as the number YAML 1.2 says it is (YAML 1.1 wants a dot: `2.0e-5`, and
    reads `2e-5` as a string, which a learning rate then refuses)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


SUITES_GROUP = "bench.suites"  # the entry point group through which a package ships suites
SUITE_SUFFIXES = (".yaml", ".yml", ".toml")


def builtin_suites() -> dict[str, Path]:
    """Names of the suites shipped with bench, mapped to their files."""
    folder = resources.files("bench.data") / "suites"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


@dataclasses.dataclass(frozen=True)
class SuiteSource:
    """Where a suite known by name comes from: its file, and "bench" or the package that ships it."""

    path: Path
    origin: str = "bench"


def _suite_files(target: Any) -> list[Path]:
    """The suite files an entry point names: a file, a folder of them, or a callable returning either."""
    if callable(target) and not isinstance(target, str | Path):
        target = target()
    path = Path(str(target))
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in SUITE_SUFFIXES)
    if path.is_file() and path.suffix.lower() in SUITE_SUFFIXES:
        return [path]
    raise ValueError(f"{target!r} is neither a suite file ({', '.join(SUITE_SUFFIXES)}) nor a folder of them")


def suite_sources() -> tuple[dict[str, SuiteSource], dict[str, str]]:
    """Every suite known by name: bench's own, then those of installed packages (entry point group `bench.suites`,
    each naming a suite file, a folder of suite files or a callable returning one; a suite is named by its file's
    stem). Also returns the entry points that could not be used, with why: a broken package must not hide the
    others, and cannot take a name bench or an earlier package already has."""
    from importlib import metadata

    found = {name: SuiteSource(path) for name, path in builtin_suites().items()}
    problems: dict[str, str] = {}
    for ep in sorted(metadata.entry_points(group=SUITES_GROUP), key=lambda e: e.name):
        dist = getattr(ep.dist, "name", None) or "unknown package"
        try:
            files = _suite_files(ep.load())
        except Exception as err:  # ImportError, a bad target, anything the package's module raises
            problems[f"{ep.name} ({dist})"] = f"{type(err).__name__}: {' '.join(str(err).split())}"
            continue
        for path in files:
            name = path.stem
            if name in found:
                problems[f"{ep.name} ({dist})"] = f"suite {name!r} is already {found[name].origin}'s; rename the file"
                continue
            found[name] = SuiteSource(path, f"package {dist}")
    return found, problems


def load_suite(name_or_path: str | Path, overrides: Mapping[str, Any] | None = None) -> SuiteConfig:
    """A suite by built-in name or from a .yaml/.yml/.toml file.

    Args:
        name_or_path: A built-in suite's name or a suite file.
        overrides: Dotted keys of the suite mapping and their values (`{"protocol.learning_rate": 2e-5}`), set
            before the suite is validated, so a bad key or value fails exactly as it would in the file.
    """
    path = Path(name_or_path)
    if path.suffix.lower() in SUITE_SUFFIXES:
        if not path.is_file():
            raise BenchError(f"suite file {path} does not exist; check the path")
        return parse_suite_file(path, overrides)
    known_suites, _ = suite_sources()
    if str(name_or_path) in known_suites:
        return parse_suite_file(known_suites[str(name_or_path)].path, overrides)
    from bench.registry import Registry

    known: Registry[Path] = Registry("suite")
    for key, value in known_suites.items():
        known.add(key, value.path)
    raise BenchError(known.unknown_message(name_or_path) + " A user suite is a path to a .yaml or .toml file.")


def parse_suite_file(path: Path, overrides: Mapping[str, Any] | None = None) -> SuiteConfig:
    text = _read_text(path)
    try:
        raw = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.load(text, Loader=_Loader)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as err:
        detail = " ".join(str(err).split())
        mark = getattr(err, "problem_mark", None)
        if mark is not None:  # PyYAML's message quotes the text around the error; line and problem say it better
            detail = f"line {mark.line + 1}, column {mark.column + 1}: {getattr(err, 'problem', None) or detail}"
        raise BenchError(f"suite file {path} is not valid {path.suffix[1:].upper()}: {detail}") from None
    if not isinstance(raw, dict):
        raise BenchError(f"suite file {path} must be a mapping with keys {', '.join(sorted(SUITE_KEYS))}")
    return suite_from_dict(raw, source=path, default_name=path.stem, overrides=overrides)


def parse_override(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` from the command line -> (dotted key, value read as a YAML scalar or flow collection, as in a
    suite file: `2e-5` is a number, `[0,1]` a list, `body` a string)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
        raise BenchError(f"expected KEY=VALUE with a dotted suite key, like protocol.learning_rate=2e-5; got {text!r}")
    try:
        return key.strip(), yaml.load(value, Loader=_Loader)
    except yaml.YAMLError as err:
        detail = getattr(err, "problem", None) or " ".join(str(err).split())
        raise BenchError(f"{text!r}: the value is not valid YAML ({detail})") from None


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the suite mapping `raw` with each dotted key set; mappings missing on the way are created, and a
    list is indexed by number (`runners.0.max_length`). What keys and values mean is checked afterwards, by the same
    code as a suite file's."""
    out = copy.deepcopy(raw)
    for key, value in overrides.items():
        parts = key.split(".")
        node: Any = out
        for depth, part in enumerate(parts):
            where = ".".join(parts[:depth]) or "the suite"
            index: str | int = part
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise BenchError(
                        f"override {key}: {where} is a list of {len(node)}; index it from 0 to {len(node) - 1}"
                    )
                index = int(part)
            elif not isinstance(node, dict):
                raise BenchError(f"override {key}: {where} is {node!r}, not a mapping")
            if depth == len(parts) - 1:
                node[index] = value
            else:
                if isinstance(node, dict) and node.get(index) is None:
                    node[index] = {}
                node = node[index]
    return out


def suite_from_dict(
    raw: dict[str, Any],
    source: Path | None = None,
    default_name: str = "suite",
    overrides: Mapping[str, Any] | None = None,
) -> SuiteConfig:
    """A validated suite from its mapping (a suite file's content), with `overrides` (dotted keys) set first."""
    if overrides:
        changed = apply_overrides(raw, overrides)
        try:
            return suite_from_dict(changed, source, default_name)
        except BenchError as err:
            raise BenchError(f"{err} (with the override(s) {', '.join(overrides)})") from None
    where = f"suite file {source}" if source else "suite"
    _check_keys(where, raw, SUITE_KEYS)
    if "data" not in raw or not isinstance(raw["data"], dict):
        raise BenchError(f"{where} needs a 'data:' mapping (source, files or path, text_column, label_column)")
    data_raw = dict(raw["data"])
    _check_keys(f"{where} data", data_raw, {f.name for f in dataclasses.fields(DataConfig)})
    for names in ("label_names", "labels"):
        if data_raw.get(names) is not None:
            if not isinstance(data_raw[names], list | tuple):
                raise BenchError(f"{where}: data.{names} must be a list of names, got {data_raw[names]!r}")
            data_raw[names] = tuple(str(n) for n in data_raw[names])
    protocol_raw = raw.get("protocol") or {}
    if not isinstance(protocol_raw, dict):
        raise BenchError(f"{where}: 'protocol' must be a mapping of settings")
    task = data_raw.get("task") or SINGLE_LABEL
    if task in tasks.names() and "metric_for_best_model" not in protocol_raw:
        # a run selects on its task's first selection metric unless told otherwise (multi-label: micro-F1)
        protocol_raw = {**protocol_raw, "metric_for_best_model": tasks.task_for(task).selection_metrics[0]}
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
    try:
        report_to = trackers(raw.get("report_to"))
    except BenchError as err:
        raise BenchError(f"{where}: {err}") from None
    name = str(raw.get("name") or default_name)
    try:  # a suite's and a runner's names become folders of the results: they must stay inside it
        check_name("suite name", name)
        if name in RESERVED:
            raise BenchError(f"suite name {name!r} is reserved (results/{name}/ holds `bench {name}`'s records)")
        for entry in runners_raw:
            if isinstance(entry, dict) and entry.get("alias") is not None:
                check_name("runner alias", entry["alias"])
    except BenchError as err:
        raise BenchError(f"{where}: {err}; rename it") from None
    return SuiteConfig(
        name=name,
        description=str(raw.get("description") or "").strip(),
        data=data,
        runners=tuple(_runner_ref(where, r) for r in runners_raw),
        protocol=protocol,
        seeds=tuple(seeds),
        source_file=str(source) if source else None,
        report_to=report_to,
        references=_references(where, raw.get("references")),
        tune=parse_grid(where, raw.get("tune"), protocol),
        energy=_energy(where, raw.get("energy")),
        keep_model=raw.get("keep_model", False),
    )


def _energy(where: str, raw: Any) -> EnergyConfig:
    """A suite's `energy:` mapping (`country:` or `intensity:`, g CO2eq/kWh)."""
    if raw is None:
        return EnergyConfig()
    if not isinstance(raw, dict):
        raise BenchError(f"{where}: 'energy' must be a mapping with 'country' (FRA, USA…) or 'intensity' (g CO2eq/kWh)")
    _check_keys(f"{where} energy", raw, {f.name for f in dataclasses.fields(EnergyConfig)})
    try:
        return EnergyConfig(**raw)
    except BenchError as err:
        raise BenchError(f"{where}: {err}") from None


def _runner_ref(where: str, entry: Any) -> RunnerRef:
    if isinstance(entry, str):
        return RunnerRef(runner=entry)
    if isinstance(entry, dict) and isinstance(entry.get("runner"), str):
        params = {k: v for k, v in entry.items() if k not in RUNNER_KEYS}
        return RunnerRef(runner=entry["runner"], params=params, alias=entry.get("alias"))
    raise BenchError(f"{where}: each runner is a name or a mapping with a 'runner:' key, got {entry!r}")


def published_references() -> dict[str, list[dict[str, Any]]]:
    """The tables of published results shipped with bench (bench/data/references.yaml), by name."""
    text = (resources.files("bench.data") / "references.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _references(where: str, raw: Any) -> tuple[Reference, ...]:
    """A suite's `references:` list: names of shipped tables (`imdb`) and entries of its own, in order."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise BenchError(
            f"{where}: 'references' must be a list of table names (like imdb) or mappings with keys "
            f"{', '.join(sorted(REFERENCE_KEYS))}"
        )
    out: list[Reference] = []
    for entry in raw:
        if isinstance(entry, str):
            tables = published_references()
            if entry not in tables:
                raise BenchError(f"{where}: unknown references table '{entry}'; bench ships: {', '.join(tables)}")
            out += [_reference(f"{where} (table {entry})", item) for item in tables[entry]]
        elif isinstance(entry, dict):
            _check_keys(f"{where} reference", entry, REFERENCE_KEYS)
            missing = sorted({"family", "model", "source"} - set(entry))
            if "accuracy" not in entry and "value" not in entry:
                missing.append("accuracy (or metric and value)")
            if missing:
                raise BenchError(f"{where}: a reference needs {', '.join(missing)}; got {entry!r}")
            out.append(_reference(where, entry))
        else:
            raise BenchError(f"{where}: each reference is a table name or a mapping, got {entry!r}")
    return tuple(out)


def _reference(where: str, entry: dict[str, Any]) -> Reference:
    try:
        return Reference(**entry)
    except BenchError as err:
        raise BenchError(f"{where}: {err}") from None


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
