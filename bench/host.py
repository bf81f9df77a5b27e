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

    import bench

    versions: dict[str, str | None] = {"bench": bench.__version__}  # its own distribution name: bench.DISTRIBUTION
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


# ---- CPU threads sized to the machine ----
#
# Two bench processes that each start one OpenMP thread per core on the same cores do not share them: idle OpenMP
# threads spin-wait, and a pair of runs on 2 cores was measured at 3-12x the time of one (issue 13). Each worker
# therefore claims its CPUs in a registry of the processes training on this machine (one file per process, held
# under an flock the OS releases when the process dies) and uses its CPUs divided by the number of live claims that
# share any of them. Trainers re-check while they train (`rebalance_threads`), so a run that started alone gives
# threads back when a second one starts, and takes them again when it ends.

THREADS_ENV = "BENCH_THREADS"  # "auto" (default), "off" (libraries' own defaults), or a fixed count
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")
_claim: dict[str, Any] = {}  # this process's registration: its file and the threads it uses


def _registry() -> Path:
    import tempfile

    default = Path(tempfile.gettempdir()) / f"bench-cpu-claims-{os.getuid()}"
    return Path(os.environ.get("BENCH_CPU_CLAIMS", default))


def _usable_cpus() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return set(range(os.cpu_count() or 1))


def _live_claims(cpus: set[int]) -> int:
    """Live processes in the registry whose CPUs overlap `cpus` (this one included); stale files are removed."""
    import fcntl

    live = 0
    for path in _registry().glob("*.cpus"):
        if path == _claim.get("path"):
            live += 1
            continue
        try:
            with open(path, "rb+") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # held: its process is alive
                    theirs = {int(c) for c in f.read().decode().split(",") if c.strip().isdigit()}
                    live += bool(theirs & cpus)
                    continue
                path.unlink(missing_ok=True)  # nobody holds it: its process died without cleaning up
        except OSError:
            continue
    return live


def thread_count(share: int = 1) -> int | None:
    """The threads this process should use: its CPUs divided among `share` and the live claims on them (None where
    sizing is off)."""
    setting = os.environ.get(THREADS_ENV, "auto").strip().lower()
    if setting == "off":
        return None
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    cpus = _usable_cpus()
    return max(1, len(cpus) // max(share, _live_claims(cpus), 1))


def claim_cpus(share: int = 1) -> int | None:
    """Register this process as one that trains on its CPUs and size its thread pools; the thread count (None where
    `BENCH_THREADS=off`). `share`: how many runs were launched to share this machine with it (a floor: the others
    may not have registered yet). Call before torch is imported where possible: tokenizers' pool reads its size once.
    """
    if os.environ.get(THREADS_ENV, "auto").strip().lower() == "off":
        return None
    import fcntl

    if "path" not in _claim:
        cpus = _usable_cpus()
        folder = _registry()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{os.getpid()}.tmp"
            f = open(tmp, "wb+")  # noqa: SIM115 (held open, and locked, for the life of the process)
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(",".join(map(str, sorted(cpus))).encode())
            f.flush()
            path = tmp.rename(folder / f"{os.getpid()}.cpus")  # locked before it is visible: never taken for stale
            _claim.update(path=path, file=f)
            import atexit
            from multiprocessing import util

            atexit.register(release_cpus)
            util.Finalize(None, release_cpus, exitpriority=0)  # a multiprocessing child skips atexit
        except OSError:  # no registry (read-only /tmp): size from `share` alone
            pass
    threads = thread_count(share)
    _set_threads(threads)
    return threads


def rebalance_threads(min_interval_s: float = 1.0) -> int | None:
    """In a process that claimed its CPUs: re-count the live claims (at most once per `min_interval_s`) and resize
    torch's pool when the share changed. Cheap enough to call every training step."""
    import time

    if "path" not in _claim or time.monotonic() - _claim.get("checked", 0.0) < min_interval_s:
        return _claim.get("threads")
    _claim["checked"] = time.monotonic()
    threads = thread_count()
    if threads != _claim.get("threads"):
        _set_threads(threads)
    return threads


def release_cpus() -> None:
    """Leave the registry (a process that hands its CPUs to processes it starts, e.g. a distributed run's ranks)."""
    path, f = _claim.pop("path", None), _claim.pop("file", None)
    if path is not None:
        path.unlink(missing_ok=True)
        f.close()
    _claim.pop("threads", None)


def _set_threads(threads: int | None) -> None:
    if threads is None:
        return
    _claim["threads"] = threads
    for var in _THREAD_VARS:  # read by OpenMP, MKL, OpenBLAS and tokenizers when they start
        os.environ[var] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:  # already running: resize its pool (OpenMP's too; this is the thread that runs the model)
        torch.set_num_threads(threads)


EXIT_ELSEWHERE = 76  # a distributed run's worker on a machine without rank 0: the record is written elsewhere
