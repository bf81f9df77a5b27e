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
import threading
from importlib import metadata
from pathlib import Path
from typing import Any


def peak_cpu_rss_mb() -> float:
    """Peak resident set size of this process in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def environment() -> dict[str, Any]:
    """Library versions, device and the project's git revision."""
    torch = sys.modules.get("torch")  # a scikit-learn run never loads torch; it is not imported just to ask

    versions = {}
    for dist in ("bench", "torch", "transformers", "datasets", "tokenizers", "accelerate", "scikit-learn", "pandas"):
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


def is_out_of_memory(err: BaseException) -> bool:
    """Whether `err` means the device or the host ran out of memory."""
    if isinstance(err, MemoryError):
        return True
    torch = sys.modules.get("torch")  # only a process that imported torch can run out of CUDA memory
    return torch is not None and isinstance(err, torch.OutOfMemoryError)


def device_kind() -> str:
    torch = sys.modules.get("torch")
    return "cuda" if torch is not None and torch.cuda.is_available() else "cpu"


def mixed_precision(setting: str = "auto") -> str:
    """The precision a run trains in: 'bf16', 'fp16' or 'no'. On a CPU always 'no'; 'auto' picks bf16 where the GPU
    supports it, else fp16."""
    import torch

    if not torch.cuda.is_available() or setting == "no":
        return "no"
    if setting == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return setting


class GpuMemory:
    """Context manager: peak CUDA allocator memory and NVML-reported process memory, in MB.

    Every field stays None where it cannot be measured (no CUDA, no NVML): missing, never 0.
    """

    def __init__(self, poll_s: float = 0.1) -> None:
        self.poll_s = poll_s
        self.allocated_mb: float | None = None
        self.reserved_mb: float | None = None
        self.nvml_mb: float | None = None
        self.gpu_name: str | None = None
        self.driver: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml: Any = None
        self._handle: Any = None

    def __enter__(self) -> GpuMemory:
        import torch

        if not torch.cuda.is_available():
            return self
        torch.cuda.reset_peak_memory_stats()
        self.gpu_name = torch.cuda.get_device_name()
        try:
            import pynvml

            pynvml.nvmlInit()
            index = torch.cuda.current_device()
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            if visible and visible.split(",")[index].strip().isdigit():
                index = int(visible.split(",")[index])
            self._nvml, self._handle = pynvml, pynvml.nvmlDeviceGetHandleByIndex(index)
            driver = pynvml.nvmlSystemGetDriverVersion()
            self.driver = driver.decode() if isinstance(driver, bytes) else driver
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        except Exception:  # NVML missing or not permitted: the allocator figures still stand
            self._nvml = None
        return self

    def _poll(self) -> None:
        # NVML sees what the CUDA context and caching allocator really hold, which max_memory_allocated does not
        pid = os.getpid()
        while not self._stop.is_set():
            try:
                for proc in self._nvml.nvmlDeviceGetComputeRunningProcesses(self._handle):
                    if proc.pid == pid and proc.usedGpuMemory is not None:
                        self.nvml_mb = max(self.nvml_mb or 0.0, proc.usedGpuMemory / 2**20)
            except Exception:
                return
            self._stop.wait(self.poll_s)

    def __exit__(self, *exc: object) -> None:
        import torch

        if not torch.cuda.is_available():
            return
        torch.cuda.synchronize()
        self.allocated_mb = torch.cuda.max_memory_allocated() / 2**20
        self.reserved_mb = torch.cuda.max_memory_reserved() / 2**20
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._nvml.nvmlShutdown()


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
