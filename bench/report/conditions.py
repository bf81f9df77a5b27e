"""The conditions a runner's cost was measured under, and the flag that goes next to a cost ratio where two runners'
differ: CPU threads, device, machine, and a busy host (other processes on the run's CPUs, hypervisor steal, a
shared GPU). A ratio of times measured at 2 threads and at 1, or on a quiet and a busy machine, measures the
machine as much as the architecture: the report says so where it shows one, as it does for host-bound GPU runs.

The record fields are written by `bench.cpus` (`cpu_threads`, `cpus`, `host_other_cpus`, `cpu_steal`); a record
written before them has only the thread count at its end (`environment.torch_threads`, read in its place by
`bench.report.load`) and no load figures: nothing is flagged that was not measured.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

BUSY_SHARE = 0.25  # other processes' CPU use above this share of the run's CPUs: a busy host
BUSY_STEAL = 0.05  # the hypervisor took more than this share of the run's CPUs' time
CONDITION_FIELDS = ("cond_threads", "cond_device", "cond_hosts", "busy_runs", "busy_worst")


def _numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")


def _column(ok: pd.DataFrame, name: str) -> pd.Series:
    return ok[name] if name in ok else pd.Series(None, index=ok.index, dtype=object)


def busy(ok: pd.DataFrame) -> pd.Series:
    """Per run: whether it ran on a busy host (measured; False where not measured)."""
    threads = _numbers(_column(ok, "cpu_threads"))
    pinned = _column(ok, "cpus").map(lambda v: len(str(v).split(",")) if isinstance(v, str) and v else None)
    cpus = _numbers(pinned).fillna(threads).fillna(1).clip(lower=1)
    other = _numbers(_column(ok, "host_other_cpus")) / cpus
    steal = _numbers(_column(ok, "cpu_steal"))
    shared = _column(ok, "gpu_shared").map(lambda v: v is True or v == 1)
    return (other > BUSY_SHARE).fillna(False) | (steal > BUSY_STEAL).fillna(False) | shared.astype(bool)


def runner_conditions(ok: pd.DataFrame) -> dict[str, Any]:
    """One runner's condition columns of the summary, from its successful runs: the thread counts (' / ' where
    they differ), the device, the machines, how many runs saw a busy host and the busiest share seen."""
    threads = sorted({int(t) for t in _numbers(_column(ok, "cpu_threads")).dropna()})
    gpu = _column(ok, "gpu_name").dropna().astype(str)
    devices = sorted(set(gpu)) or sorted(set(_column(ok, "device").dropna().astype(str)))
    hosts = sorted(set(_column(ok, "host").dropna().astype(str)))
    flags = busy(ok)
    threads_n = _numbers(_column(ok, "cpu_threads")).fillna(1).clip(lower=1)
    share = (_numbers(_column(ok, "host_other_cpus")) / threads_n).max()
    return {
        "cond_threads": " / ".join(map(str, threads)),
        "cond_device": " / ".join(devices),
        "cond_hosts": " / ".join(hosts),
        "busy_runs": int(flags.sum()),
        "busy_worst": float(share) if pd.notna(share) else float("nan"),
    }


def _gpu(row: pd.Series) -> bool:
    return row.get("cond_device", "") not in ("", "cpu")


def differences(row: pd.Series, base: pd.Series | None) -> list[str]:
    """What differs between the conditions `row`'s runner and `base`'s were measured under, and a busy host of
    either, one phrase each; empty where they are the same (or not known)."""
    out = []
    if base is not None and row["runner"] != base["runner"]:
        mine, theirs = row.get("cond_threads", ""), base.get("cond_threads", "")
        if mine and theirs and mine != theirs and not (_gpu(row) and _gpu(base)):
            out.append(f"{mine} CPU threads vs {theirs} for {base['runner']}")
        if row.get("cond_device") and base.get("cond_device") and row["cond_device"] != base["cond_device"]:
            out.append(f"on {row['cond_device']} vs {base['cond_device']}")
        if row.get("cond_hosts") and base.get("cond_hosts") and row["cond_hosts"] != base["cond_hosts"]:
            out.append(f"on machine {row['cond_hosts']} vs {base['cond_hosts']}")
        if base.get("busy_runs"):
            out.append(f"{base['runner']} on a busy host")
    if row.get("busy_runs"):
        n, all_ = int(row["busy_runs"]), int(row.get("seeds_ok", 0) or 0)
        out.append("busy host" + (f" in {n} of {all_} runs" if all_ > 1 else ""))
    return out


def flag(row: pd.Series, base: pd.Series | None) -> str:
    """The words that go right after a cost ratio of `row` to `base`: '' where both were measured alike."""
    found = differences(row, base)
    return f" (measured under different conditions: {'; '.join(found)})" if found else ""


NOTE = (
    "Conditions: each run trains on a fixed set of CPUs and threads for its whole duration (bench waits for them "
    "while other bench runs hold them, never resizing a run). Below the training time, a runner measured under "
    "other conditions than the baseline (CPU threads, device, machine) or on a busy host (other processes used "
    f"over {BUSY_SHARE:.0%} of its CPUs, the hypervisor stole over {BUSY_STEAL:.0%} of their time, or another "
    "process shared its GPU) is flagged: its time ratio to the baseline measures the machine as much as the model."
)
