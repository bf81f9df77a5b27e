"""Facts about this process and its devices, and meters for them: peak RSS, GPU and host memory over a block, the
mixed precision a GPU supports, out-of-memory errors, library versions, the git revision.

Torch is imported inside functions only (a scikit-learn run never loads it), and transformers never."""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any


def peak_cpu_rss_mb() -> float:
    """Peak resident set size of this process in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def environment() -> dict[str, Any]:
    """Library versions, device and the project's git revision."""
    torch = sys.modules.get("torch")  # a scikit-learn run never loads torch; it is not imported just to ask

    from bench.version import __version__

    versions: dict[str, str | None] = {"bench": __version__}  # its own distribution name: bench.DISTRIBUTION
    for dist in ("torch", "transformers", "datasets", "tokenizers", "accelerate", "scikit-learn", "pandas"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads() if torch else None,
        "cuda": torch.version.cuda if torch and torch.cuda.is_available() else None,
        "versions": versions,
        "git_hash": git_hash(),
    }


def git_hash() -> str | None:
    """The commit of the bench checkout (with '-dirty' if it has local changes), or None outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if head.returncode:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def now() -> str:
    """UTC time, ISO 8601, to the second."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def last_line(err: BaseException) -> str:
    """`Type: last line of the message`: what a record keeps of an error."""
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[-1] if lines else ''}".strip()


# What cuBLAS, cuDNN, SDPA and the CUDA runtime say when an allocation fails inside them: raised as a plain
# RuntimeError, not torch.OutOfMemoryError, but the same condition (and a smaller micro-batch is the same remedy).
_OOM_MESSAGES = (
    "out of memory",
    "CUBLAS_STATUS_ALLOC_FAILED",
    "CUDNN_STATUS_ALLOC_FAILED",
    "CUDNN_STATUS_NOT_ENOUGH_WORKSPACE",
    "cudaErrorMemoryAllocation",
    "Failed to allocate memory",
)


def is_out_of_memory(err: BaseException) -> bool:
    """Whether `err` means the device or the host ran out of memory."""
    if isinstance(err, MemoryError):
        return True
    torch = sys.modules.get("torch")  # only a process that imported torch can run out of CUDA memory
    if torch is not None and isinstance(err, torch.OutOfMemoryError):
        return True
    return isinstance(err, RuntimeError) and any(m.lower() in str(err).lower() for m in _OOM_MESSAGES)


def pin_one_gpu() -> str | None:
    """Make this process see exactly one GPU, the first of those it may use (CUDA_VISIBLE_DEVICES), and return it.

    Must run before CUDA is initialised. A run trains on one device: with several visible, transformers' Trainer
    wraps the model in nn.DataParallel, which multiplies the effective batch and reads memory from device 0 only.
    A distributed launch (one process per GPU) sets CUDA_VISIBLE_DEVICES per process itself.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "0")  # unset: CUDA's first device (harmless without GPUs)
    chosen = next((v.strip() for v in visible.split(",") if v.strip()), "")
    os.environ["CUDA_VISIBLE_DEVICES"] = chosen
    return chosen or None


def device_kind() -> str:
    torch = sys.modules.get("torch")
    return "cuda" if torch is not None and torch.cuda.is_available() else "cpu"


def device_label() -> str:
    """Where this process computes, for a person: 'cuda · NVIDIA H100 80GB HBM3' or 'cpu · 2 threads' (imports torch)."""
    import torch

    if torch.cuda.is_available():
        return f"cuda · {torch.cuda.get_device_name()}"
    return f"cpu · {torch.get_num_threads()} threads"


def mixed_precision(setting: str = "auto") -> str:
    """The precision a run trains in: 'bf16', 'fp16' or 'no'. On a CPU always 'no'; 'auto' picks bf16 where the GPU
    supports it, else fp16."""
    import torch

    if not torch.cuda.is_available() or setting == "no":
        return "no"
    if setting == "auto":  # native bf16 only: V100/T4 would emulate it, slower than fp16
        return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
    return setting


def resolved_precision(setting: str, capabilities: list[tuple[int, int]]) -> str:
    """What a run with `mixed_precision: setting` computes in, for its configuration key: 'fp32', 'bf16' or 'fp16',
    given the compute capabilities (major, minor) of the GPUs it may use ([]: a CPU). The rule `mixed_precision`
    applies at training time: a CPU and `no` are fp32; `auto` is bf16 where every GPU has it natively (compute
    capability 8.0 and up, what torch.cuda.is_bf16_supported(including_emulation=False) checks), else fp16."""
    if not capabilities or setting == "no":
        return "fp32"
    if setting == "auto":
        return "bf16" if all(major >= 8 for major, _ in capabilities) else "fp16"
    return setting


def trainer_precision(resolved: str) -> str:
    """A key's precision (fp32, bf16, fp16) as the protocol's `mixed_precision` setting the trainer reads."""
    return "no" if resolved == "fp32" else resolved


class HostMemory:
    """Peak resident set size of this process over a block, in MB, via Linux's resettable high-water mark
    (writing 5 to /proc/self/clear_refs resets VmHWM). ru_maxrss cannot be reset: in a fresh process it is mostly
    the imports. Fields stay None where /proc is not available."""

    def __init__(self) -> None:
        self.baseline_mb: float | None = None
        self.peak_mb: float | None = None

    @staticmethod
    def _status_mb(field: str) -> float | None:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
        except OSError:
            pass
        return None

    def __enter__(self) -> HostMemory:
        self.baseline_mb = self._status_mb("VmRSS")
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self._reset = True
        except OSError:
            self._reset = False
        return self

    def __exit__(self, *exc: object) -> None:
        if self._reset:
            self.peak_mb = self._status_mb("VmHWM")

    @property
    def delta_mb(self) -> float | None:
        if self.peak_mb is None or self.baseline_mb is None:
            return None
        return self.peak_mb - self.baseline_mb


def exit_with_parent() -> None:
    """Stop this process when the process that started it dies (e.g. SIGKILL): its lock on the run is gone with it,
    and an orphaned worker would race the rerun that resumes it."""
    import multiprocessing
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="bench-parent-watch", daemon=True).start()


EXIT_ORPHANED = 75


EXIT_ELSEWHERE = 76  # a distributed run's worker on a machine without rank 0: the record is written elsewhere
