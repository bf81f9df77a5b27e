"""The GPU meter: CUDA allocator peaks per phase (training, evaluation), NVML memory and the board's energy counter.

Every figure stays None where it cannot be measured (no CUDA, no NVML, a counter the board lacks): missing, never 0.
NVML finds the device by UUID (correct under CUDA_VISIBLE_DEVICES reordering and for MIG slices) and this process by
PID; where the PID is not visible (a container without the host's PID namespace) it falls back to the whole
device's memory and says so (`scope` = "device").
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any


def _mb(n_bytes: float | None) -> float | None:
    return None if n_bytes is None else n_bytes / 2**20


class GpuMemory:
    """Context manager over a run (or a measurement). Between `reset()` calls it keeps the phase's peaks
    (`phase_peaks()`); after exit, `allocated_mb`, `reserved_mb` and `nvml_mb` are the peaks over the whole block.

    `energy_j()` reads NVML's total-energy counter (per board: `shared` says whether other processes used the GPU).
    """

    def __init__(self, poll_s: float = 0.1) -> None:
        self.poll_s = poll_s
        self.allocated_mb: float | None = None
        self.reserved_mb: float | None = None
        self.nvml_mb: float | None = None
        self.gpu_name: str | None = None
        self.driver: str | None = None
        self.uuid: str | None = None
        self.scope: str | None = None  # process | device: what nvml_mb measures
        self.shared: bool | None = None  # other processes on the GPU during the block
        self._phase_nvml: float | None = None
        self._util: list[float] = []  # NVML utilisation samples (percent of time a kernel ran) since the last reset
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml: Any = None
        self._handle: Any = None
        self._cuda = False

    # ---- entering and leaving ----

    def __enter__(self) -> GpuMemory:
        import torch

        self._cuda = torch.cuda.is_available()
        if not self._cuda:
            return self
        torch.cuda.reset_peak_memory_stats()
        self.gpu_name = torch.cuda.get_device_name()
        self.uuid = _torch_uuid(torch)
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception:  # NVML missing or not permitted: the allocator figures still stand
            return self
        self._nvml = pynvml
        self._handle = _nvml_handle(pynvml, self.uuid, torch.cuda.current_device())
        if self._handle is None:
            return self
        driver = pynvml.nvmlSystemGetDriverVersion()
        self.driver = driver.decode() if isinstance(driver, bytes) else driver
        self._poll_once()
        self._thread = threading.Thread(target=self._poll, name="bench-nvml-poll", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._cuda:
            return
        self._merge(*self.phase_peaks())
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        if self._nvml is not None:
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()

    # ---- phases ----

    def reset(self) -> None:
        """Start a new phase: fold the current peaks into the block's, then clear them."""
        if not self._cuda:
            return
        import torch

        self._merge(*self.phase_peaks())
        torch.cuda.reset_peak_memory_stats()
        self._phase_nvml = None
        self._util = []
        self._poll_once()

    def phase_peaks(self) -> tuple[float | None, float | None, float | None]:
        """(allocated, reserved, NVML) peaks in MB since the last reset; Nones without CUDA."""
        if not self._cuda:
            return None, None, None
        import torch

        torch.cuda.synchronize()
        return (
            _mb(torch.cuda.max_memory_allocated()),
            _mb(torch.cuda.max_memory_reserved()),
            self._phase_nvml,
        )

    def utilization(self) -> tuple[float, int]:
        """(sum, count) of NVML's GPU utilisation samples since the last reset (percent of the sample period in
        which a kernel ran); (0, 0) where NVML does not report it."""
        samples = list(self._util)
        return float(sum(samples)), len(samples)

    def energy_j(self) -> float | None:
        """The board's energy counter in joules (NVML counts mJ since the driver loaded); None where unsupported."""
        if self._handle is None:
            return None
        try:
            return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle) / 1000
        except Exception:  # NVMLError_NotSupported (older boards, MIG slices), or NVML gone
            return None

    # ---- NVML polling ----

    def _merge(self, allocated: float | None, reserved: float | None, nvml: float | None) -> None:
        self.allocated_mb = _max(self.allocated_mb, allocated)
        self.reserved_mb = _max(self.reserved_mb, reserved)
        self.nvml_mb = _max(self.nvml_mb, nvml)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_s):
            if not self._poll_once():
                return

    def _poll_once(self) -> bool:
        # NVML sees what the CUDA context and caching allocator really hold, which max_memory_allocated does not
        if self._handle is None:
            return False
        try:
            procs = self._nvml.nvmlDeviceGetComputeRunningProcesses(self._handle)
            mine = [p.usedGpuMemory for p in procs if p.pid == os.getpid() and p.usedGpuMemory is not None]
            if mine:
                used, self.scope = float(mine[0]), "process"
            else:  # this PID is not visible to NVML (another PID namespace): the whole device's memory
                used, self.scope = float(self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used), "device"
            self.shared = bool(self.shared) or len(procs) > 1
        except Exception:
            return False
        with contextlib.suppress(Exception):  # not reported on every board (MIG slices)
            self._util.append(float(self._nvml.nvmlDeviceGetUtilizationRates(self._handle).gpu))
        self._phase_nvml = _max(self._phase_nvml, _mb(used))
        return True


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


HOST_BOUND = 0.8  # the GPU busy for less than this share of the wall time: the host sets the pace


def bound(gpu_s: float | None, wall_s: float | None) -> str | None:
    """host: the GPU computed for under 80% of the wall time (it waited on launches, Python, data), so the time is
    the harness's and the framework's more than the architecture's; device: the GPU set the pace. None on a CPU."""
    if gpu_s is None or not wall_s:
        return None
    return "device" if gpu_s >= HOST_BOUND * wall_s else "host"


def _torch_uuid(torch: Any) -> str | None:
    try:
        return str(torch.cuda.get_device_properties(torch.cuda.current_device()).uuid)
    except Exception:
        return None


def _nvml_handle(pynvml: Any, uuid: str | None, index: int) -> Any:
    """The NVML handle of the device torch runs on: by UUID (GPU or MIG), else by the index CUDA_VISIBLE_DEVICES
    maps it to; None where neither works."""
    if uuid:
        for name in (uuid, f"GPU-{uuid}", f"MIG-{uuid}"):
            try:
                return pynvml.nvmlDeviceGetHandleByUUID(name)
            except Exception:
                continue
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if visible and index < len(visible):
        if not visible[index].isdigit():
            return None  # a UUID NVML did not know: no guess by index
        index = int(visible[index])
    try:
        return pynvml.nvmlDeviceGetHandleByIndex(index)
    except Exception:
        return None


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES entries (indices or UUIDs); [] without one. Asks NVML,
    not CUDA, so that the caller (a launcher) never initialises CUDA itself."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            count = pynvml.nvmlDeviceGetCount()
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no driver, no NVML: no GPU to place runs on
        return []
    if count == 0:
        return []
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is None:
        return [str(i) for i in range(count)]
    return [v.strip() for v in given.split(",") if v.strip() and not v.strip().startswith("-")]


def gpu_capabilities() -> list[tuple[int, int]]:
    """The CUDA compute capability (major, minor) of each GPU this process may use (CUDA_VISIBLE_DEVICES); [] without
    one. Asks NVML, not CUDA, so that a launcher never initialises CUDA (`bench.host.resolved_precision`)."""
    visible = visible_gpus()
    if not visible:
        return []
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return []
    try:
        found = []
        for entry in visible:
            try:
                if entry.isdigit():
                    handle = pynvml.nvmlDeviceGetHandleByIndex(int(entry))
                else:
                    handle = pynvml.nvmlDeviceGetHandleByUUID(entry)
                found.append(tuple(pynvml.nvmlDeviceGetCudaComputeCapability(handle)))
            except Exception:  # an entry NVML does not know (a MIG slice by another name): the others decide
                continue
        return found
    finally:
        pynvml.nvmlShutdown()
