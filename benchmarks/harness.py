"""Performance of the harness itself, measured side by side in one run and printed against the goals.

    python benchmarks/harness.py --data-dir ../shared/data/imdb --docs 2000

(a) bench's training path (length-grouped batches, dynamic padding, the protocol's Trainer) against the tutorial's
    recipe (every document padded to max length, Trainer defaults: random order) on the same tiny model and the real
    IMDB length distribution: epoch time ratio at equal accuracy (goal >= 2x);
(b) bench's Trainer step against a bare PyTorch loop over the very same batches, model and optimizer: throughput
    ratio (goal >= 0.95);
(c) real tokens over computed tokens in the batches bench's sampler and collator produce, at max length 512 and 4096
    (goal >= 0.90 at 512);
(d) a second `bench run` of the same suite: data preparation time relative to the first (goal <= 5%).

A benchmark, not a test: it takes minutes. Timings use one torch thread unless --threads says otherwise, since on a
machine shared with other work two spinning OpenMP threads can wait on each other for whole time slices.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

GOALS = {"a": ("epoch time, tutorial / bench", ">=", 2.0), "b": ("bench tokens/s / bare loop tokens/s", ">=", 0.95),
         "c": ("real / computed tokens at 512", ">=", 0.90), "d": ("second run's data preparation / first's", "<=", 0.05)}  # fmt: skip
SEED = 0


def _met(key: str, value: float) -> str:
    _, op, goal = GOALS[key]
    ok = value >= goal if op == ">=" else value <= goal
    return f"goal {op} {goal:g}: {'met' if ok else 'MISSED'}"


def _inputs(runner, data):
    """bench's own preparation: the runner's tokenizer, tokenized once, encoded (truncated) for the runner."""
    from bench.data import texts_of
    from bench.train.encoding import encode, tokenize

    tokenizer = runner.build_tokenizer(lambda: texts_of(data.splits["train"]))
    return tokenizer, encode(tokenize(data.splits, tokenizer), runner, tokenizer)


def bench_trainer(runner, tokenizer, train, protocol, out: Path, counter, callbacks=()):
    """A Trainer set up as `bench.train.trainer.train_and_evaluate` sets it up for training (evaluation left out)."""

    from bench.train.encoding import InMemorySplit
    from bench.train.trainer import CountingTrainer, RunnerCollator, training_arguments

    args = training_arguments(protocol, SEED, out)
    args = replace(args, eval_strategy="no", save_strategy="no", load_best_model_at_end=False)
    return CountingTrainer(
        model=runner.build_model(("neg", "pos")),
        args=args,
        train_dataset=InMemorySplit(train),
        data_collator=RunnerCollator(tokenizer, runner),
        processing_class=tokenizer,
        callbacks=list(callbacks),
        counter=counter,
    )


def real_token_fraction(runner, data, protocol, out: Path) -> dict[str, float]:
    """Real over computed tokens in one epoch of the batches bench trains on, and with padding to max length."""
    from transformers import set_seed

    from bench.train.measure import TokenCounter

    tokenizer, inputs = _inputs(runner, data)
    set_seed(SEED)
    trainer = bench_trainer(runner, tokenizer, inputs["train"], protocol, out, TokenCounter())
    real = computed = 0
    for batch in trainer.get_train_dataloader():
        mask = batch.get("attention_mask")  # a batch without padding has none
        real += int(mask.sum()) if mask is not None else batch["input_ids"].numel()
        computed += batch["input_ids"].numel()
    return {"bench": real / computed, "padded_to_max": real / (len(inputs["train"]) * runner.max_length)}


class RecordingCounter:
    """bench's TokenCounter that also keeps every micro-batch, so a bare loop can replay the same batches."""

    def __init__(self) -> None:
        from bench.train.measure import TokenCounter

        self.inner, self.batches = TokenCounter(), []

    def add(self, inputs: dict[str, Any]) -> None:
        self.batches.append(dict(inputs))
        self.inner.add(inputs)

    def snapshot(self) -> tuple[int, int, int]:
        return self.inner.snapshot()


def trainer_throughput(runner, tokenizer, train, protocol, out: Path) -> tuple[float, list[dict]]:
    """Real tokens/s of bench's Trainer over one epoch after `throughput_warmup_steps`, and the batches it used."""
    from transformers import set_seed

    from bench.train.measure import ThroughputCallback

    counter = RecordingCounter()
    timer = ThroughputCallback(counter, protocol.throughput_warmup_steps)
    set_seed(SEED)
    trainer = bench_trainer(runner, tokenizer, train, protocol, out, counter, [timer])
    trainer.train()
    return timer.rates()["train_tokens_per_s"], counter.batches


def bare_throughput(runner, batches: list[dict], protocol) -> float:
    """Real tokens/s of a hand-written loop over `batches`: same model init, AdamW, schedule, clipping, accumulation."""
    import torch
    from transformers import get_linear_schedule_with_warmup, set_seed

    set_seed(SEED)
    model = runner.build_model(("neg", "pos"))
    model.train()
    decay = [p for n, p in model.named_parameters() if "bias" not in n and "LayerNorm" not in n]
    rest = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
    groups = [{"params": decay, "weight_decay": protocol.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=protocol.learning_rate, fused=True)  # as the Trainer's adamw_torch_fused
    accumulation = protocol.gradient_accumulation_steps
    steps = -(-len(batches) // accumulation)
    schedule = get_linear_schedule_with_warmup(optimizer, int(protocol.warmup_ratio * steps), steps)
    warmup, started, real = protocol.throughput_warmup_steps, None, 0
    for step in range(steps):
        if step == warmup:
            started, real = time.perf_counter(), 0
        group = batches[step * accumulation : (step + 1) * accumulation]
        for batch in group:
            (model(**batch).loss / len(group)).backward()
            real += batch["attention_mask"].sum() if "attention_mask" in batch else batch["input_ids"].numel()
        torch.nn.utils.clip_grad_norm_(model.parameters(), protocol.max_grad_norm)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return int(real) / (time.perf_counter() - started)


def tutorial_run(runner, data, protocol, out: Path) -> dict[str, float]:
    """The tutorial's recipe: every document padded to max length, Trainer defaults (random order, default
    collator), the same model, tokens, hyper-parameters and epochs as bench. Epoch time excludes evaluation."""
    import numpy as np
    from transformers import Trainer, TrainingArguments, set_seed

    from bench.train.measure import ThroughputCallback, TokenCounter

    tokenizer, inputs = _inputs(runner, data)
    pad = tokenizer.pad_token_id

    def pad_to_max(batch: dict) -> dict:
        ids = [x + [pad] * (runner.max_length - len(x)) for x in batch["input_ids"]]
        return {"input_ids": ids, "attention_mask": [[1] * n + [0] * (runner.max_length - n) for n in batch["length"]]}

    splits = {s: inputs[s].map(pad_to_max, batched=True).select_columns(["input_ids", "attention_mask", "label"])
              for s in ("train", "validation", "test")}  # fmt: skip
    args = TrainingArguments(
        output_dir=str(out), num_train_epochs=protocol.epochs, learning_rate=protocol.learning_rate,
        weight_decay=protocol.weight_decay, warmup_steps=protocol.warmup_ratio,
        per_device_train_batch_size=protocol.per_device_batch_size,
        gradient_accumulation_steps=protocol.gradient_accumulation_steps,
        per_device_eval_batch_size=protocol.eval_batch_size, eval_strategy="epoch", save_strategy="no",
        logging_strategy="epoch", report_to="none", seed=SEED,
    )  # fmt: skip
    timer = ThroughputCallback(TokenCounter(), 0)
    set_seed(SEED)
    model = runner.build_model(("neg", "pos"))
    trainer = Trainer(model=model, args=args, train_dataset=splits["train"], eval_dataset=splits["validation"],
                      processing_class=tokenizer, callbacks=[timer])  # fmt: skip
    trainer.model_accepts_loss_kwargs = False  # as bench does: the loss of a mean over each micro-batch (see protocol)
    trainer.train()
    logits = trainer.predict(splits["test"]).predictions
    accuracy = float((np.argmax(logits, -1) == np.asarray(splits["test"]["label"])).mean())
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    return {"epoch_s": timer.train_s / protocol.epochs, "accuracy": accuracy, "train_loss": losses[-1]}


def bench_run(runner, data, protocol, out: Path) -> dict[str, float]:
    """bench's real training path, `bench.train.trainer.train_and_evaluate`, with no warm-up left out of its timing."""
    from bench.train.trainer import train_and_evaluate

    metrics, _ = train_and_evaluate(runner, data, replace(protocol, throughput_warmup_steps=0), SEED, out)
    losses = [e["train_loss"] for e in metrics["epochs"] if "train_loss" in e]
    return {"epoch_s": metrics["train_s"] / protocol.epochs, "accuracy": metrics["accuracy"], "train_loss": losses[-1]}


def second_run(data_dir: Path, limit: int, work: Path) -> list[dict[str, float]]:
    """`bench run` twice on the same suite with fresh caches: each run's data preparation (tokenizer, tokenize and
    encode: the record's prepare_s) and, timed apart in a fresh process each time, the suite's data loading."""
    env = {**os.environ, "BENCH_CACHE": str(work / "cache"), "HF_DATASETS_CACHE": str(work / "datasets")}
    data_dir, work = data_dir.resolve(), work.resolve()  # the runs work in `work`: relative paths would break
    work.mkdir(parents=True, exist_ok=True)
    load = ("import sys, time; from pathlib import Path; from bench.data.suite import load_suite; "
            "from bench.data import load_suite_data; import datasets; datasets.disable_progress_bars(); "
            "t = time.perf_counter(); load_suite_data(load_suite('imdb'), Path(sys.argv[1]), int(sys.argv[2])); "
            "print(time.perf_counter() - t)")  # fmt: skip
    runs = []
    for _ in range(2):
        loaded = subprocess.run([sys.executable, "-c", load, str(data_dir), str(limit)], env=env, check=True,
                                capture_output=True, text=True)  # fmt: skip
        cmd = [sys.executable, "-m", "bench", "run", "--suite", "imdb", "--data-dir", str(data_dir), "--runners",
               "tiny-roberta-512", "--limit", str(limit), "--epochs", "1", "--results", str(work / "results"),
               "--overwrite"]  # fmt: skip
        subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, cwd=work)
        record = json.loads((work / "results" / "imdb" / "runs" / "tiny-roberta-512" / "seed0.json").read_text())
        runs.append({"prepare_s": record["prepare_s"], "load_s": float(loaded.stdout.split()[-1])})
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/harness.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    default_data = Path(__file__).resolve().parents[2] / "shared" / "data" / "imdb"
    parser.add_argument("--data-dir", type=Path, default=default_data, help=f"IMDB copy (default: {default_data})")
    parser.add_argument("--docs", type=int, default=2000, help="training documents (test scaled alike)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs for (a)")
    parser.add_argument("--lr", type=float, default=2e-3, help="learning rate for (a) (random-init tiny model)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: steady on a busy machine)")
    parser.add_argument("--only", default="abcd", help="which figures to measure, e.g. 'cd'")
    args = parser.parse_args(argv)
    if not (args.data_dir / "train.jsonl.gz").exists():
        print(
            f"benchmarks/harness.py: no IMDB copy at {args.data_dir} (train.jsonl.gz); pass --data-dir", file=sys.stderr
        )
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import datasets
    import torch
    import transformers

    from bench.config import ProtocolConfig
    from bench.data import load_suite_data
    from bench.data.suite import load_suite
    from bench.runners import build_runner

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    data = load_suite_data(load_suite("imdb"), args.data_dir, args.docs)
    sizes = {name: len(ds) for name, ds in data.splits.items()}
    print(f"IMDB from {args.data_dir}: {sizes}; torch {torch.__version__}, {args.threads} thread(s), "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")  # fmt: skip
    protocol = ProtocolConfig(epochs=args.epochs, learning_rate=args.lr, batch_size=32, per_device_batch_size=8,
                              eval_batch_size=32, mixed_precision="no")  # fmt: skip
    longformer = build_runner("tiny-longformer-2048", {"max_length": 1024})  # the tutorial's Longformer at 1024
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-benchmark-") as tmp:
        work = Path(tmp)
        if "c" in args.only:
            print("\n(c) real / computed tokens in bench's training batches (one epoch, micro-batch 8)")
            for name, length in (("tiny-roberta-512", 512), ("tiny-longformer-2048", 4096)):
                runner = build_runner(name, {"max_length": length})
                fraction = real_token_fraction(runner, data, protocol, work / f"c{length}")
                figures[f"c{length}"] = fraction["bench"]
                print(f"    {name} at max length {length}: {fraction['bench']:.3f} "
                      f"(padding every document to {length}: {fraction['padded_to_max']:.3f})")  # fmt: skip
            print(f"    -> {figures['c512']:.3f}, {_met('c', figures['c512'])}")
        if "a" in args.only:
            print(f"\n(a) {longformer.describe()}, {args.epochs} epochs, lr {args.lr:g}, batch 32 (8 x 4)")
            tutorial = tutorial_run(longformer, data, protocol, work / "a-tutorial")
            ours = bench_run(longformer, data, protocol, work / "a-bench")
            figures["a"] = tutorial["epoch_s"] / ours["epoch_s"]
            for name, r in (("tutorial recipe", tutorial), ("bench", ours)):
                print(f"    {name:<16} {r['epoch_s']:7.1f} s/epoch   test accuracy {r['accuracy']:.4f}   "
                      f"last train loss {r['train_loss']:.4f}")  # fmt: skip
            n_test = sizes["test"]
            se = (2 * 0.25 / n_test) ** 0.5  # standard error of a difference of two accuracies near 0.5
            print(f"    accuracy difference {ours['accuracy'] - tutorial['accuracy']:+.4f} (± {1.96 * se:.4f} at 95% "
                  f"for {n_test} test documents)")  # fmt: skip
            print(f"    -> {figures['a']:.2f}x, {_met('a', figures['a'])}")
        if "b" in args.only:
            print(f"\n(b) {longformer.describe()}: one epoch, the same batches, best of 3 alternating runs each")
            tokenizer, inputs = _inputs(longformer, data)
            one_epoch = replace(protocol, epochs=1)
            best = {"bench": 0.0, "bare": 0.0}
            for i in range(3):
                rate, batches = trainer_throughput(longformer, tokenizer, inputs["train"], one_epoch, work / f"b{i}")
                best["bench"] = max(best["bench"], rate)
                best["bare"] = max(best["bare"], bare_throughput(longformer, batches, one_epoch))
            figures["b"] = best["bench"] / best["bare"]
            print(f"    bench Trainer {best['bench']:,.0f} real tokens/s; bare loop {best['bare']:,.0f} real tokens/s")
            print(f"    -> {figures['b']:.3f}, {_met('b', figures['b'])}")
        if "d" in args.only:
            print(f"\n(d) bench run --suite imdb --runners tiny-roberta-512 --limit {args.docs} --epochs 1, twice, "
                  "fresh caches")  # fmt: skip
            first, second = second_run(args.data_dir, args.docs, work / "d")
            figures["d"] = second["prepare_s"] / first["prepare_s"]
            both = (second["prepare_s"] + second["load_s"]) / (first["prepare_s"] + first["load_s"])
            for name, r in (("first", first), ("second", second)):
                print(f"    {name:<6} prepare_s {r['prepare_s']:.3f} s (tokenizer, tokenize, encode); "
                      f"loading the suite's data {r['load_s']:.3f} s")  # fmt: skip
            print(f"    -> prepare_s {figures['d']:.3f}, {_met('d', figures['d'])}; with data loading {both:.3f}")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    print("summary: " + "; ".join(f"({k}) {v:.3f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
