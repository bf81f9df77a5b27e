"""`bench run`'s options for scaling out: several runs at once (`--jobs`, `--gpus`), one run on several processes
(`--nproc-per-node`, `--nnodes`, rendezvous), and sweeps on a cluster (`--executor slurm|local`, `--slurm-*`); each
turned into what bench/launch and bench/train take."""

from __future__ import annotations

import argparse

from bench.errors import BenchError

EXAMPLES = """scaling out (see docs/scaling.md):
  bench run --suite imdb                            # a box with GPUs: one run per visible GPU at once
  bench run --suite imdb --gpus 2,3                 # only GPUs 2 and 3
  bench run --suite demo --jobs 2                   # CPU: two runs at once, the cores split between them
  bench run --suite imdb --runners roberta-512 --nproc-per-node 4          # one run on 4 GPUs (DDP)
  bench run --suite imdb --nnodes 2 --nproc-per-node 8 --rdzv-endpoint node1:29400 --rdzv-id sweep1   # on each node
  bench run --suite imdb --executor slurm --slurm-partition gpu --max-parallel 8 --no-wait
  bench status --suite imdb                         # what finished, what runs, what is pending
"""


def _gpu_list(text: str) -> list[str]:
    gpus = [s.strip() for s in text.split(",") if s.strip()]
    if not gpus:
        raise argparse.ArgumentTypeError(f"expected comma-separated GPU indices like 0,1,2,3, got {text!r}")
    return gpus


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (an sbatch option without its dashes), got {text!r}")
    return key.strip(), value.strip()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the scaling options to `bench run`'s parser."""
    from bench.cli import _positive_int

    here = parser.add_argument_group("several runs at once, on this machine")
    here.add_argument(
        "--jobs",
        type=_positive_int,
        help="runs at once (default: one per visible GPU, or per --nproc-per-node GPUs; 1 on a CPU machine)",
    )
    here.add_argument("--gpus", type=_gpu_list, help="the GPUs to use, e.g. 0,1,2,3 (default: all visible)")
    spread = parser.add_argument_group("one run on several processes (torch's elastic launcher)")
    spread.add_argument("--nproc-per-node", type=_positive_int, default=1, help="processes per run on this machine")
    spread.add_argument("--nnodes", type=_positive_int, default=1, help="machines per run (each runs this command)")
    spread.add_argument("--rdzv-backend", default="c10d", help="rendezvous backend (default: c10d)")
    spread.add_argument("--rdzv-endpoint", help="HOST:PORT of the rendezvous, the same on every machine")
    spread.add_argument("--rdzv-id", default="bench", help="names this sweep's rendezvous across machines")
    cluster = parser.add_argument_group("a cluster, through submitit (pip install 'longdoc-bench[slurm]')")
    cluster.add_argument(
        "--executor",
        choices=("slurm", "local"),
        help="submit the pending runs as one array job (slurm), or the same through submitit on this machine (local)",
    )
    cluster.add_argument("--slurm-partition", help="Slurm partition")
    cluster.add_argument("--slurm-account", help="Slurm account to charge")
    cluster.add_argument(
        "--slurm-gpus-per-run", type=int, help="GPUs per array task (default on Slurm: --nproc-per-node, so 1)"
    )
    cluster.add_argument(
        "--slurm-cpus-per-run", type=_positive_int, help="CPUs per array task (default on Slurm: 8 per process)"
    )
    cluster.add_argument(
        "--slurm-param",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other sbatch option, e.g. qos=high or constraint=a100 (repeatable)",
    )
    cluster.add_argument("--max-parallel", type=_positive_int, help="array tasks running at once")
    cluster.add_argument("--timeout-min", type=_positive_int, default=24 * 60, help="time limit per try (minutes)")
    cluster.add_argument(
        "--no-wait", action="store_true", help="submit and return; `bench status` (or `bench run` again) shows progress"
    )


def distributed(args: argparse.Namespace):
    """The `Distributed` options of the command, or None for one process per run."""
    if args.nproc_per_node == 1 and args.nnodes == 1:
        return None
    from bench.train.distributed import Distributed

    return Distributed(args.nproc_per_node, args.nnodes, args.rdzv_backend, args.rdzv_endpoint, args.rdzv_id)


def slots(args: argparse.Namespace) -> list:
    """Where the runs go on this machine: one `Placement` per run at once (GPU groups of --nproc-per-node, or CPU)."""
    from bench.gpu import visible_gpus
    from bench.launch.local import Placement

    if args.executor and (args.jobs or args.gpus):
        raise BenchError("--jobs and --gpus place runs on this machine; with --executor use --max-parallel instead")
    gpus = visible_gpus()
    if args.gpus:
        if not gpus:
            raise BenchError(f"--gpus {','.join(args.gpus)}: this machine has no GPU visible to NVML; leave --gpus out")
        gpus = args.gpus
    if not gpus:
        return [Placement()] * (args.jobs or 1)
    per_run = args.nproc_per_node
    groups = [tuple(gpus[i : i + per_run]) for i in range(0, len(gpus) - per_run + 1, per_run)]
    if not groups:
        raise BenchError(f"--nproc-per-node {per_run} needs {per_run} GPUs per run; {len(gpus)} visible")
    jobs = args.jobs or len(groups)
    if jobs > len(groups):
        raise BenchError(
            f"--jobs {jobs} needs {jobs * per_run} GPUs ({per_run} per run), {len(gpus)} given: one run per GPU keeps "
            "memory and energy figures its own; lower --jobs"
        )
    return [Placement(gpus=group) for group in groups[:jobs]]


def cluster(args: argparse.Namespace):
    """The `ClusterOptions` of the command, or None to run here."""
    if not args.executor:
        return None
    from bench.launch.options import ClusterOptions

    return ClusterOptions(
        executor=args.executor,
        partition=args.slurm_partition,
        account=args.slurm_account,
        gpus_per_run=args.slurm_gpus_per_run,
        cpus_per_run=args.slurm_cpus_per_run,
        max_parallel=args.max_parallel,
        timeout_min=args.timeout_min,
        extra=dict(args.slurm_param),
        wait=not args.no_wait,
        processes_per_run=args.nproc_per_node,  # Slurm gives each array task that many GPUs, unless told otherwise
    )
