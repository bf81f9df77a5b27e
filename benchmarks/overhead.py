"""What bench's training path costs per step beyond the model's own arithmetic, on a model that has almost none.

    python benchmarks/overhead.py            # ~1 minute on 2 cores

The null model: a 1-layer, 16-wide RoBERTa, micro-batches of 16 documents of 64 tokens, no accumulation. bench's
path (its dataset columns, collator, sampler, Trainer and callbacks, as `bench.train.trainer` sets them up) against
a bare PyTorch loop over the same number of documents of the same shape (the same model init, fused AdamW,
linear schedule, clipping), best of 3 alternating runs each. The goal: bench's training samples/s >= 0.9 of
the bare loop's. On a fast GPU a small model's step takes a few ms, so a per-step overhead of a millisecond or two is
a large share of what bench would report as that model's cost.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

GOAL = 0.9
SHAPE = {"max_length": 64, "hidden_size": 16, "num_layers": 1, "vocab_size": 200}


def dataset(n: int, length: int):
    """`n` encoded documents of exactly `length` tokens, as bench's encoding leaves them (ids, length, label)."""
    import numpy as np
    from datasets import Dataset

    rng = np.random.default_rng(0)
    ids = rng.integers(5, SHAPE["vocab_size"], size=(n, length)).tolist()
    return Dataset.from_dict({"input_ids": ids, "length": [length] * n, "label": (np.arange(n) % 2).tolist(),
                              "attention_mask": [[1] * length] * n})  # fmt: skip


def bench_samples_per_s(runner, tokenizer, train, protocol, out: Path) -> float:
    from harness import bench_trainer
    from transformers import set_seed

    from bench.train.measure import ThroughputCallback, TokenCounter

    counter = TokenCounter()
    timer = ThroughputCallback(counter, protocol.throughput_warmup_steps)
    set_seed(0)
    bench_trainer(runner, tokenizer, train, protocol, out, counter, [timer]).train()
    fields = timer.record_fields()
    return fields["train_samples_per_s"]


def bare_samples_per_s(runner, n: int, protocol) -> float:
    """A hand-written loop over pre-built batches of the same shape: the floor any harness is measured against."""
    import torch
    from transformers import get_linear_schedule_with_warmup, set_seed

    set_seed(0)
    model = runner.build_model(("neg", "pos"))
    model.train()
    # the fused kernel, as the Trainer's default optimizer (adamw_torch_fused) uses on CPU and GPU alike
    optimizer = torch.optim.AdamW(model.parameters(), lr=protocol.learning_rate, fused=True)
    micro = protocol.per_device_batch_size
    steps = n // micro
    schedule = get_linear_schedule_with_warmup(optimizer, int(protocol.warmup_ratio * steps), steps)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, SHAPE["vocab_size"], (micro, SHAPE["max_length"]), generator=generator)
    batches = [{"input_ids": ids, "labels": torch.arange(micro) % 2}] * steps  # no padding: no mask, as bench
    started = None
    for step, batch in enumerate(batches):
        if step == protocol.throughput_warmup_steps:
            started = time.perf_counter()
        model(**batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), protocol.max_grad_norm)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
    return (steps - protocol.throughput_warmup_steps) * micro / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=4000, help="training documents per run (default 4000)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steadier on a shared box)")
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs of each, the best kept (default 5)")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):  # one core for both: the other's load and frequency do not tilt the ratio
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    from bench.config import ProtocolConfig
    from bench.runners import build_runner

    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    runner = build_runner("tiny-roberta-128", SHAPE)
    train = dataset(args.docs, SHAPE["max_length"])
    tokenizer = runner.build_tokenizer(lambda: ["a b c d"] * 10)
    protocol = ProtocolConfig(epochs=1, batch_size=16, per_device_batch_size=16, learning_rate=1e-3)
    best = {"bench": 0.0, "bare": 0.0}
    with tempfile.TemporaryDirectory() as work:
        for i in range(args.repeats):
            best["bench"] = max(
                best["bench"], bench_samples_per_s(runner, tokenizer, train, protocol, Path(work) / str(i))
            )
            best["bare"] = max(best["bare"], bare_samples_per_s(runner, args.docs, protocol))
    ratio = best["bench"] / best["bare"]
    print(f"null model ({SHAPE['num_layers']} layer, {SHAPE['hidden_size']} wide), micro-batch 16 x "
          f"{SHAPE['max_length']} tokens, {args.docs} documents, {args.threads} thread(s), best of {args.repeats}:")  # fmt: skip
    print(f"  bench's Trainer path {best['bench']:,.0f} samples/s ({1e3 * 16 / best['bench']:.2f} ms/step); "
          f"bare loop {best['bare']:,.0f} samples/s ({1e3 * 16 / best['bare']:.2f} ms/step)")  # fmt: skip
    print(f"  -> {ratio:.3f} of the bare loop; goal >= {GOAL}: {'met' if ratio >= GOAL else 'MISSED'}")
    print(f"  load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
