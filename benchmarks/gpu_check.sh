#!/usr/bin/env bash
# A CUDA machine checked in under five minutes: the GPU network's outputs against the CPU's,
# the inference server's simulations/s with 1, 4 and 15 self-play workers against the CPU path,
# and 60 s of `alphazero train connect4 --set selfplay.inference_server=true`.
# One summary line; exit status 1 on any failure. See benchmarks/gpu_check.py for the options:
#   bash benchmarks/gpu_check.sh                  # CUDA
#   bash benchmarks/gpu_check.sh --device cpu     # the same path on the CPU (run by the tests)
# Needs the project installed with a CUDA build of torch (pip install torch; pip install .).
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 || true
fi
exec python benchmarks/gpu_check.py "$@"
