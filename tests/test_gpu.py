"""The GPU meter's code paths, run on a CPU through fakes of `torch.cuda`'s memory functions and of `pynvml` (the
true boundaries: no CUDA device here). What a GPU itself must show is in tests/test_gpu_device.py (marked gpu)."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest
import torch

from bench.gpu import GpuMemory

MB = 2**20
UUID = "6f0c7a2e-1b2c-4d5e-8f90-123456789abc"


@dataclass
class Proc:
    pid: int
    usedGpuMemory: int | None


class FakeCuda:
    """torch.cuda's memory functions over a scripted allocator."""

    def __init__(self) -> None:
        self.allocated = self.peak = 0
        self.reserved_peak = 0

    def alloc(self, mb: int) -> None:
        self.allocated += mb * MB
        self.peak = max(self.peak, self.allocated)
        self.reserved_peak = max(self.reserved_peak, self.allocated + 64 * MB)

    def free(self, mb: int) -> None:
        self.allocated -= mb * MB

    def reset_peak_memory_stats(self) -> None:
        self.peak = self.allocated
        self.reserved_peak = self.allocated + 64 * MB

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        cuda = torch.cuda
        monkeypatch.setattr(cuda, "is_available", lambda: True)
        monkeypatch.setattr(cuda, "reset_peak_memory_stats", lambda *a: self.reset_peak_memory_stats())
        monkeypatch.setattr(cuda, "max_memory_allocated", lambda *a: self.peak)
        monkeypatch.setattr(cuda, "max_memory_reserved", lambda *a: self.reserved_peak)
        monkeypatch.setattr(cuda, "synchronize", lambda *a: None)
        monkeypatch.setattr(cuda, "get_device_name", lambda *a: "NVIDIA H100 80GB HBM3")
        monkeypatch.setattr(cuda, "current_device", lambda: 0)
        monkeypatch.setattr(cuda, "get_device_properties", lambda i: types.SimpleNamespace(uuid=UUID))


def fake_pynvml(procs: list[Proc], energy_mj: list[int] | None, known_uuids: tuple[str, ...] = (f"GPU-{UUID}",)):
    """A pynvml module: devices found by UUID only if listed, a scripted energy counter (None: not supported)."""
    nvml = types.ModuleType("pynvml")
    nvml.asked = []
    counter = iter(energy_mj or [])

    class NVMLError(Exception):
        pass

    def by_uuid(uuid: str):
        nvml.asked.append(uuid)
        if uuid not in known_uuids:
            raise NVMLError("Not Found")
        return ("handle", uuid)

    def energy(handle):
        if energy_mj is None:
            raise NVMLError("Not Supported")
        return next(counter)

    nvml.nvmlInit = lambda: None
    nvml.nvmlShutdown = lambda: None
    nvml.nvmlSystemGetDriverVersion = lambda: b"550.54.15"
    nvml.nvmlDeviceGetHandleByUUID = by_uuid
    nvml.nvmlDeviceGetHandleByIndex = lambda i: ("handle", f"index {i}")
    nvml.nvmlDeviceGetComputeRunningProcesses = lambda handle: procs
    nvml.nvmlDeviceGetMemoryInfo = lambda handle: types.SimpleNamespace(used=5000 * MB)
    nvml.nvmlDeviceGetTotalEnergyConsumption = energy
    return nvml


@pytest.fixture
def cuda(monkeypatch: pytest.MonkeyPatch) -> FakeCuda:
    fake = FakeCuda()
    fake.install(monkeypatch)
    return fake


def test_phases_have_their_own_peaks_and_the_block_keeps_the_largest(cuda, monkeypatch):
    import os

    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([Proc(os.getpid(), 900 * MB)], [1_000_000, 1_250_000]))
    with GpuMemory(poll_s=60) as gpu:
        cuda.alloc(500)  # the model
        cuda.alloc(1500)  # training activations
        cuda.free(1500)
        train = gpu.phase_peaks()
        gpu.reset()
        cuda.alloc(300)  # evaluation
        cuda.free(300)
        evaluation = gpu.phase_peaks()
        energy = (gpu.energy_j(), gpu.energy_j())
    assert train[0] == 2000 and evaluation[0] == 800  # the reset dropped training's peak
    assert gpu.allocated_mb == 2000 and gpu.reserved_mb == 2064
    assert gpu.nvml_mb == 900 and gpu.scope == "process" and gpu.shared is False
    assert energy == (1000.0, 1250.0)  # mJ counter read as joules
    assert gpu.uuid == UUID and gpu.driver == "550.54.15" and gpu.gpu_name.startswith("NVIDIA H100")


def test_device_found_by_uuid_not_by_index(cuda, monkeypatch):
    nvml = fake_pynvml([], None, known_uuids=(f"MIG-{UUID}",))  # a MIG slice: "GPU-…" is unknown
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with GpuMemory(poll_s=60) as gpu:
        pass
    assert nvml.asked[-1] == f"MIG-{UUID}" and gpu._handle == ("handle", f"MIG-{UUID}")


def test_unknown_uuid_falls_back_to_the_visible_index(cuda, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([], None, known_uuids=()))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    with GpuMemory(poll_s=60) as gpu:
        assert gpu._handle == ("handle", "index 3")  # torch's device 0 is the machine's GPU 3


def test_unsupported_energy_counter_and_invisible_process(cuda, monkeypatch):
    # a container without the host's PID namespace: NVML lists other PIDs, never ours
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([Proc(1, 100 * MB), Proc(2, 200 * MB)], None))
    with GpuMemory(poll_s=60) as gpu:
        cuda.alloc(10)
        assert gpu.energy_j() is None  # missing, never 0
    assert gpu.scope == "device" and gpu.nvml_mb == 5000  # the whole device's memory, said so
    assert gpu.shared is True


def test_without_nvml_the_allocator_figures_stand(cuda, monkeypatch):
    broken = types.ModuleType("pynvml")

    def fail():
        raise RuntimeError("NVML Shared Library Not Found")

    broken.nvmlInit = fail
    monkeypatch.setitem(sys.modules, "pynvml", broken)
    with GpuMemory() as gpu:
        cuda.alloc(42)
    assert gpu.allocated_mb == 42 and gpu.nvml_mb is None and gpu.energy_j() is None and gpu.scope is None


def test_on_a_cpu_every_figure_is_none():
    with GpuMemory() as gpu:
        assert gpu.phase_peaks() == (None, None, None) and gpu.energy_j() is None
        gpu.reset()
    assert (gpu.allocated_mb, gpu.reserved_mb, gpu.nvml_mb, gpu.gpu_name) == (None, None, None, None)
