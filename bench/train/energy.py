"""Energy and carbon of a run's training steps: codecarbon's offline tracker (the `energy` extra), read over the
same intervals as `train_s` (warm-up steps and evaluation excluded), as kWh of CPU, GPU and RAM and kg CO2eq.

codecarbon reads the CPU from RAPL (Linux, Intel and recent AMD) where it can, else estimates it from the CPU's TDP
and load; the GPU from NVML; the RAM from its size. `EnergyMeter.fields` says which in `energy_method` and
`energy_sources`. Without codecarbon, or where its tracker fails to start, the meter is None and the record's energy
fields stay missing, never 0. Torch-free.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from bench.config import WORLD_CARBON_INTENSITY, EnergyConfig

MEASURED, ESTIMATED = "measured", "estimated"
# codecarbon's CPU modes that read a meter; the others ("cpu_load", "constant") estimate from the TDP
_CPU_METERS = {"intel_rapl": "RAPL", "windows_emi": "EMI", "intel_power_gadget": "Power Gadget"}
_PARTS = ("cpu", "gpu", "ram")


@dataclass
class Energy:
    """What was measured so far: kWh per part (None: that part was not measured) and kg CO2eq."""

    cpu: float | None = 0.0
    gpu: float | None = None  # None where there is no GPU to read
    ram: float | None = 0.0
    co2_kg: float = 0.0

    def plus(self, other: Energy) -> Energy:
        def add(a: float | None, b: float | None) -> float | None:
            return b if a is None else a if b is None else a + b

        parts = (add(getattr(self, part), getattr(other, part)) for part in _PARTS)
        return Energy(*parts, co2_kg=self.co2_kg + other.co2_kg)

    @property
    def kwh(self) -> float:
        return sum(v for v in (self.cpu, self.gpu, self.ram) if v is not None)


def combine(carried: dict[str, Any] | None, own: dict[str, Any] | None) -> dict[str, Any] | None:
    """The energy of a run trained by several processes (resumed): the sum, None where either is None (a part
    of the run was not measured, so the whole cannot be)."""
    if carried is None or own is None:
        return None
    total = Energy(**carried["energy"]).plus(Energy(**own["energy"]))
    return {**own, "energy": vars(total)}


class EnergyMeter:
    """codecarbon's offline tracker, started once per training process; `begin` and `end` bracket each timed
    interval (codecarbon tasks). Build it with `start`, which returns None where codecarbon is missing or fails."""

    def __init__(self, tracker: Any, config: EnergyConfig) -> None:
        self.tracker = tracker
        self.config = config
        self.total = Energy(gpu=0.0 if self._has_gpu() else None)
        self._open = False

    @classmethod
    def start(cls, config: EnergyConfig | None = None) -> EnergyMeter | None:
        config = config or EnergyConfig()
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError:
            return None
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        # the country or the intensity the suite gives; neither: the world average, forced, since offline
        # codecarbon otherwise needs a country (and would guess none)
        where = {"country_iso_code": config.country} if config.country else {"country_iso_code": "USA"}
        intensity = (
            None if config.country else (config.intensity if config.intensity is not None else WORLD_CARBON_INTENSITY)
        )
        try:
            tracker = OfflineEmissionsTracker(
                **where,
                **({"force_carbon_intensity_g_co2e_kwh": intensity} if intensity is not None else {}),
                save_to_file=False,
                log_level="error",
                measure_power_secs=1,
                tracking_mode="process",  # the run's process, not the other jobs on a shared machine
                allow_multiple_runs=True,  # several runs of a sweep on one machine, each with its own tracker
            )
            tracker.start()
        except Exception as err:  # energy is a by-product: it never fails a run
            print(f"note: codecarbon did not start ({err}); the run records no kWh or CO2", flush=True)
            return None
        return cls(tracker, config)

    def _has_gpu(self) -> bool:
        return any(type(h).__name__ == "GPU" for h in getattr(self.tracker, "_hardware", []))

    def begin(self) -> None:
        """Open an interval; one still open (warm-up steps, then the timer restarted) is dropped uncounted."""
        if self._open:
            self.tracker.stop_task("train")
        self.tracker.start_task("train")
        self._open = True

    def end(self) -> None:
        if not self._open:
            return
        self._open = False
        data = self.tracker.stop_task("train")
        has_gpu = self.total.gpu is not None
        self.total = self.total.plus(
            Energy(data.cpu_energy, data.gpu_energy if has_gpu else None, data.ram_energy, data.emissions)
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):  # what was read is kept; a failing shutdown changes nothing
            self.tracker.stop()

    def sources(self) -> dict[str, str]:
        """How each part was read: `RAPL`, `NVML`, `estimated (TDP x load)`, …"""
        found: dict[str, str] = {}
        for hardware in getattr(self.tracker, "_hardware", []):
            kind = type(hardware).__name__
            if kind == "CPU":
                mode = getattr(hardware, "_mode", None)
                found["cpu"] = _CPU_METERS.get(
                    mode, "estimated (TDP x load)" if mode == "cpu_load" else "estimated (TDP)"
                )
            elif kind == "GPU":
                found["gpu"] = "NVML"
            elif kind == "RAM":
                found["ram"] = "RAPL (DRAM)" if getattr(hardware, "_rapl_include_dram", False) else "estimated (size)"
            elif kind == "AppleSiliconChip":
                found.setdefault("cpu", "powermetrics")
        return found

    def saved(self) -> dict[str, Any]:
        """What a checkpoint keeps (JSON-ready), for a resumed run to add to."""
        return {"energy": vars(self.total), "sources": self.sources()}


def record_fields(saved: dict[str, Any] | None, config: EnergyConfig | None = None) -> dict[str, Any]:
    """The record's energy fields from a meter's `saved()` (summed over the processes that trained the run); all
    None where nothing was measured."""
    if saved is None:
        return {}
    config = config or EnergyConfig()
    energy = Energy(**saved["energy"])
    sources = saved.get("sources") or {}
    kwh = energy.kwh
    estimated = any(not _is_meter(sources.get(part)) for part in _PARTS if getattr(energy, part) is not None)
    return {
        "energy_kwh": kwh,
        "energy_kwh_cpu": energy.cpu,
        "energy_kwh_gpu": energy.gpu,
        "energy_kwh_ram": energy.ram,
        "co2eq_kg": energy.co2_kg,
        "carbon_intensity": energy.co2_kg / kwh * 1000 if kwh > 0 else config.intensity,
        "energy_country": config.country,
        "energy_method": ESTIMATED if estimated else MEASURED,
        "energy_sources": "; ".join(f"{part}: {sources[part]}" for part in _PARTS if part in sources) or None,
    }


def _is_meter(source: str | None) -> bool:
    return source is not None and not source.startswith("estimated")
