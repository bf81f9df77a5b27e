"""One run on several processes, through torch's elastic launcher (the engine of `torchrun`): the run's worker starts
its ranks, each trains a shard of every batch under the same protocol (gloo on CPU, NCCL on GPU), and what they
measured is reduced once at the end.

The effective batch stays the suite's: micro-batch x ranks x accumulation steps. Only global rank 0 returns the
run's record fields and predictions; the worker writes them. A rank that fails writes its error beside the record
before the launcher stops the others, so the worker can tell running out of memory (retried with half the
micro-batch, as any run) from any other failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import ProtocolConfig
from bench.errors import BenchError
from bench.host import is_out_of_memory, last_line


@dataclass(frozen=True)
class Distributed:
    """How one run is spread over processes (the elastic launcher's options).

    Attributes:
        nproc_per_node: Ranks started on this machine (one per GPU on a GPU machine).
        nnodes: Machines taking part; each runs the same `bench run` command.
        rdzv_backend: Rendezvous backend (`c10d`: a store on the endpoint's host; `static`, `etcd`, ...).
        rdzv_endpoint: host:port of the rendezvous; default a free port on this machine (one machine only).
        rdzv_id: Names the sweep across machines; each run's rendezvous id is it plus the run's name.
    """

    nproc_per_node: int = 1
    nnodes: int = 1
    rdzv_backend: str = "c10d"
    rdzv_endpoint: str | None = None
    rdzv_id: str = "bench"

    def __post_init__(self) -> None:
        if self.nnodes > 1 and not self.rdzv_endpoint:
            raise BenchError(
                f"--nnodes {self.nnodes} needs --rdzv-endpoint HOST:PORT, the same on every machine "
                "(a host all of them reach, e.g. the first one's name and a free port)"
            )

    @property
    def world_size(self) -> int:
        return self.nproc_per_node * self.nnodes

    def check(self, protocol: ProtocolConfig) -> None:
        """Refuse, in one line, a protocol whose effective batch the ranks cannot make up exactly."""
        micro = 1 if protocol.per_device_batch_size == "auto" else protocol.per_device_batch_size  # auto divides
        per_step = micro * self.world_size
        if protocol.batch_size % per_step:
            raise BenchError(
                f"the suite's batch_size {protocol.batch_size} is not a multiple of per_device_batch_size "
                f"{protocol.per_device_batch_size} x {self.world_size} processes ({per_step}); choose a process count "
                "or a per_device_batch_size that divides it, so the effective batch stays the suite's"
            )


def rank() -> int:
    """This process's global rank (0 outside a distributed run)."""
    return int(os.environ.get("RANK", 0))


def launch_ranks(
    dist: Distributed,
    run_id: str,
    entrypoint: Callable[..., Any],
    args: Sequence[Any],
    error_path: Callable[[int], Path],
) -> Any:
    """Start `dist.nproc_per_node` ranks running `entrypoint(*args)` and wait for all of them; what global rank 0
    returned, or None where rank 0 ran on another machine. A failed rank raises its own error here (a
    `torch.OutOfMemoryError` when it ran out of memory), read from the file `error_path(rank)` it left."""
    import torch
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=dist.nnodes,
        max_nodes=dist.nnodes,
        nproc_per_node=dist.nproc_per_node,
        run_id=f"{dist.rdzv_id}-{run_id}",
        rdzv_backend=dist.rdzv_backend,
        rdzv_endpoint=dist.rdzv_endpoint or "localhost:0",  # 0: a free port (torchrun --standalone does the same)
        max_restarts=0,  # a failed rank is a failed try: the sweep records it, or retries it after running out of memory
        start_method="spawn",
    )
    for r in range(dist.world_size):
        error_path(r).unlink(missing_ok=True)
    try:
        returned = elastic_launch(config, entrypoint)(*args)
    except ChildFailedError as err:
        errors = []
        for r in range(dist.world_size):
            try:
                errors.append((r, json.loads(error_path(r).read_text(encoding="utf-8"))))
                error_path(r).unlink()
            except (OSError, ValueError):
                continue
        oom = [(r, e) for r, e in errors if e.get("oom")]
        if oom:
            error = torch.OutOfMemoryError(f"rank {oom[0][0]} of {dist.world_size}: {oom[0][1]['error']}")
            error.record_fields = oom[0][1].get("fields") or {}  # training or evaluation: what the retry shrinks
            raise error from None
        if errors:
            raise RuntimeError(f"rank {errors[0][0]} of {dist.world_size}: {errors[0][1]['error']}") from None
        raise RuntimeError(f"a rank of {dist.world_size} died: {last_line(err)}") from None
    return returned.get(0)


def record_rank_error(error_path: Callable[[int], Path], err: BaseException) -> None:
    """In a rank: leave its error where `launch_ranks` finds it (the launcher only sees an exit code)."""
    fields = getattr(err, "record_fields", {})
    text = json.dumps({"oom": is_out_of_memory(err), "error": last_line(err), "fields": fields}, default=str)
    path = error_path(rank())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


def reduce(values: Sequence[float | None], op: str) -> list[float | None]:
    """`values` combined over all ranks, elementwise: `sum` or `max`; a value any rank could not measure (None)
    stays None for a sum, and is left out of a max. Outside a distributed run, `values` as they are."""
    import torch
    import torch.distributed as tdist

    if not (tdist.is_available() and tdist.is_initialized()) or tdist.get_world_size() == 1:
        return list(values)
    missing = float("nan") if op == "sum" else float("-inf")
    tensor = torch.tensor([missing if v is None else float(v) for v in values], dtype=torch.float64)
    if "nccl" in str(tdist.get_backend()):
        tensor = tensor.cuda()
    tdist.all_reduce(tensor, op=tdist.ReduceOp.SUM if op == "sum" else tdist.ReduceOp.MAX)
    return [None if v != v or v == float("-inf") else v for v in tensor.cpu().tolist()]
