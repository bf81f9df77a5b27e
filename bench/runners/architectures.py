"""The architectures bench ships: the published configs of the base models its pretrained runners load, bundled as
JSON in `bench/runners/configs/` so that a model can be built with random weights without the hub or a cache
(`PretrainedRunner(random_init=True)`): cost depends on the architecture, not on the weights.

Each file holds the checkpoint's id, where its values come from, the special tokens of its tokenizer (which ids a
tokenizer trained on the suite's text must give them) and the config, as published (bookkeeping keys such as
`transformers_version` left out).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bench.errors import BenchError

ROLES = ("bos", "eos", "cls", "sep", "pad", "unk", "mask")  # special-token roles a tokenizer may fill
TOKENIZER_KINDS = ("byte-level-bpe", "wordpiece")


@dataclass(frozen=True)
class Architecture:
    """One bundled architecture: its checkpoint id, source, tokenizer recipe and published config."""

    model_id: str
    source: str
    tokenizer_kind: str  # byte-level-bpe | wordpiece: the family's tokenizer, trained anew when the real one is absent
    lowercase: bool
    special_tokens: dict[str, tuple[str, int]]  # role -> (token, id in the real vocabulary)
    config: dict[str, Any]
    file: str

    @property
    def vocab_size(self) -> int:
        return int(self.config["vocab_size"])

    def build_config(self, **changes: Any):
        """The transformers config of this architecture, with `changes` on top (labels, runner overrides)."""
        from transformers import AutoConfig

        settings = {k: v for k, v in self.config.items() if k != "model_type"}
        return AutoConfig.for_model(self.config["model_type"], **{**settings, **changes})


def _parse(name: str, raw: dict[str, Any]) -> Architecture:
    tokenizer = raw["tokenizer"]
    if tokenizer["kind"] not in TOKENIZER_KINDS:
        raise ValueError(f"bundled architecture {name}: tokenizer kind must be one of {TOKENIZER_KINDS}")
    specials = {role: (str(token), int(i)) for role, (token, i) in tokenizer["special_tokens"].items()}
    unknown = set(specials) - set(ROLES)
    if unknown:
        raise ValueError(f"bundled architecture {name}: unknown special-token roles {sorted(unknown)}")
    return Architecture(
        model_id=raw["model_id"],
        source=raw["source"],
        tokenizer_kind=tokenizer["kind"],
        lowercase=bool(tokenizer["lowercase"]),
        special_tokens=specials,
        config=dict(raw["config"]),
        file=name,
    )


@functools.cache
def bundled() -> dict[str, Architecture]:
    """Every bundled architecture by checkpoint id (and the other ids it is known by, e.g. `roberta-base`)."""
    found: dict[str, Architecture] = {}
    for path in sorted((resources.files("bench.runners") / "configs").iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".json"):
            continue
        raw = json.loads(path.read_text(encoding="utf-8"))
        architecture = _parse(path.name, raw)
        for model_id in (architecture.model_id, *raw.get("also_known_as", [])):
            found[model_id] = architecture
    return found


def architecture(model_id: str) -> Architecture:
    """The bundled architecture of `model_id`.

    Raises:
        BenchError: bench ships no architecture for it.
    """
    known = bundled()
    if model_id in known:
        return known[model_id]
    raise BenchError(
        f"no bundled architecture for {model_id} (bench ships {', '.join(sorted({a.model_id for a in known.values()}))}); "
        "random_init needs one, or the checkpoint's config.json in a local folder (--models-dir)"
    )
