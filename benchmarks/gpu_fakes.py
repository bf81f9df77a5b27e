"""A pretend GPU for the GPU check's rehearsal (`benchmarks/gpu_check.sh --rehearse`): bench's CUDA branches run on
the CPU, so that a step broken in them is found here, not on a lent device.

`fake_cuda(total_mb)` makes `torch.cuda` say there is an "NVIDIA H100 80GB HBM3 (REHEARSAL FAKE)" of `total_mb` MB
with native bf16; tensors and modules sent to "cuda" stay on the CPU. Its allocator counts the bytes of every
tensor an operation creates while it lives (a dispatch mode: the real peak of live tensors, not a guess) and raises
torch.OutOfMemoryError, as the CUDA caching allocator does, when they would exceed `total_mb`. CUDA events read the
host's clock (a CPU computes as the host asks, so "GPU time" is the step's own time). NVML is absent, as on a
machine without its library. Every figure measured under it is a CPU's, in a pretend GPU's fields: the check marks
them as fakes, never as GPU measurements.

`fake_sync_debug()` stands for `torch.cuda.set_sync_debug_mode("warn")`: it warns, with torch's own words, at every
call that would make the host wait for a GPU (`.item()`, `bool(tensor)`, `.tolist()`, `.cpu()`, `.numpy()`,
`nonzero`, `torch.cuda.synchronize`).
"""

from __future__ import annotations

import contextlib
import time
import types
import warnings
import weakref
from collections.abc import Iterator
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

FAKE_NAME = "NVIDIA H100 80GB HBM3 (REHEARSAL FAKE)"  # in flops' peak table by its "H100 ... HBM3" words
FAKE_UUID = "00000000-0000-0000-0000-00000000fake"
MB = 2**20


class FakeAllocator(TorchDispatchMode):
    """Live bytes of the storages created under it (a view adds nothing; a tensor autograd saves lives on), their peak since the last reset,
    and out of memory beyond `total_bytes`."""

    def __init__(self, total_bytes: int) -> None:
        super().__init__()
        self.total = total_bytes
        self.live = 0
        self.peak = 0
        self._seen: dict[int, int] = {}  # storage pointer -> bytes

    def _count(self, tensor: torch.Tensor) -> None:
        try:
            storage = tensor.untyped_storage()
            key, size = storage.data_ptr(), storage.nbytes()
        except Exception:  # a tensor without storage (meta, sparse): nothing allocated
            return
        if key in self._seen or size == 0:
            return
        if self.live + size > self.total:
            raise torch.OutOfMemoryError(
                f"CUDA out of memory (REHEARSAL FAKE): tried to allocate {size / MB:.2f} MiB; {self.live / MB:.2f} "
                f"MiB of {self.total / MB:.0f} MiB in use"
            )
        self._seen[key] = size
        self.live += size
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self._release, key, size)  # torch keeps a storage's Python object while it lives

    def _release(self, key: int, size: int) -> None:
        if self._seen.pop(key, None) is not None:
            self.live -= size

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in torch.utils._pytree.tree_leaves(out):
            if isinstance(tensor, torch.Tensor) and not isinstance(tensor, torch.nn.Parameter):
                self._count(tensor)
        return out

    def reset_peak(self) -> None:
        self.peak = self.live


def _on_cpu(value: Any) -> Any:
    if isinstance(value, torch.device) and value.type == "cuda":
        return torch.device("cpu")
    if isinstance(value, str) and value.split(":")[0] == "cuda":
        return "cpu"
    return value


class CudaToCpu(TorchFunctionMode):
    """Every device argument that names CUDA names the CPU instead (`.to("cuda")`, `device="cuda"`)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.device:  # the name stays: bench asks `device.type == "cuda"`; what it is given moves
            return func(*args, **(kwargs or {}))
        args = tuple(_on_cpu(a) for a in args)
        kwargs = {k: _on_cpu(v) for k, v in (kwargs or {}).items()}
        return func(*args, **kwargs)


class FakeEvent:
    """torch.cuda.Event on the host's clock."""

    def __init__(self, enable_timing: bool = False, **kwargs: Any) -> None:
        self.t: float | None = None

    def record(self, stream: Any = None) -> None:
        self.t = time.perf_counter()

    def synchronize(self) -> None:
        pass

    def query(self) -> bool:
        return self.t is not None

    def elapsed_time(self, end: FakeEvent) -> float:
        if self.t is None or end.t is None:
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return (end.t - self.t) * 1e3  # milliseconds, as CUDA's


@contextlib.contextmanager
def fake_cuda(total_mb: float = 80 * 1024) -> Iterator[FakeAllocator]:
    """A pretend GPU of `total_mb` MB for the block (see the module's docstring); yields its allocator."""
    allocator = FakeAllocator(int(total_mb * MB))
    props = types.SimpleNamespace(total_memory=int(total_mb * MB), uuid=FAKE_UUID, name=FAKE_NAME, major=9, minor=0)
    cuda = torch.cuda
    replaced = {
        "is_available": lambda: True,
        "device_count": lambda: 1,
        "current_device": lambda: 0,
        "get_device_name": lambda *a: FAKE_NAME,
        "get_device_properties": lambda *a: props,
        "is_bf16_supported": lambda *a, **k: True,
        "synchronize": lambda *a: None,
        "empty_cache": lambda: None,
        "reset_peak_memory_stats": lambda *a: allocator.reset_peak(),
        "max_memory_allocated": lambda *a: allocator.peak,
        "max_memory_reserved": lambda *a: allocator.peak,
        "memory_allocated": lambda *a: allocator.live,
        "Event": FakeEvent,
    }
    saved = {name: getattr(cuda, name) for name in replaced}
    for name, value in replaced.items():
        setattr(cuda, name, value)
    try:
        with CudaToCpu(), allocator:
            yield allocator
    finally:
        for name, value in saved.items():
            setattr(cuda, name, value)


SYNC_WARNING = "called a synchronizing CUDA operation (REHEARSAL FAKE of torch's sync debug mode)"
_SYNCING_METHODS = ("item", "__bool__", "tolist", "cpu", "numpy", "nonzero")


class _SyncSpotter(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in _SYNCING_METHODS:
            warnings.warn(f"{name}: {SYNC_WARNING}", UserWarning, stacklevel=2)
        return func(*args, **(kwargs or {}))


class FakeSyncDebug:
    """`set_sync_debug_mode` / `get_sync_debug_mode` over `_SyncSpotter` (warn mode only)."""

    def __init__(self) -> None:
        self._mode: _SyncSpotter | None = None
        self._synchronize = torch.cuda.synchronize

    def set_sync_debug_mode(self, mode: int | str) -> None:
        on = mode not in (0, "default")
        if on and self._mode is None:
            self._mode = _SyncSpotter()
            self._mode.__enter__()
        elif not on and self._mode is not None:
            self._mode.__exit__(None, None, None)
            self._mode = None

    def get_sync_debug_mode(self) -> int:
        return 1 if self._mode is not None else 0

    def synchronize(self, *args: Any) -> None:
        if self._mode is not None:
            warnings.warn(f"synchronize: {SYNC_WARNING}", UserWarning, stacklevel=2)
