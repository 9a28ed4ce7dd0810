#!/usr/bin/env bash
# The pre-registered Connect Four ablation of docs/learned_search.md: every search arm at
# 4-128 simulations on three checkpoints, then the boundary study (PUCT, 1-1024 simulations).
#
#   benchmarks/ablate_connect4.sh [RUN_DIR]          # default runs/ablate-connect4-TIMESTAMP
#
# Before running: copy three checkpoints of a Connect Four training run to
# runs/connect4-ablate/{weak,medium,strong}.pt, and the run's checkpoint series (in step order)
# to runs/connect4-ablate/series/step_*.pt (or edit alphazero/configs/ablate_connect4.yaml).
# Expect several hours on a 2-core CPU (the first run also solves the balanced openings: up to an
# hour, then cached). The labelled positions are generated on first use and
# cached (~/.cache/alphazero); generating them first, one seed per core, saves time:
#   python -m alphazero.eval.labelled --count 3000 --seed 0 & python -m alphazero.eval.labelled --count 2000 --seed 1
#   python -m alphazero.eval.labelled --count 500 --seed 2
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/ablate-connect4-$(date +%Y%m%d-%H%M%S)}"
config=alphazero/configs/ablate_connect4.yaml
for label in weak medium strong; do
    if [ ! -f "runs/connect4-ablate/$label.pt" ]; then
        echo "missing runs/connect4-ablate/$label.pt: copy a Connect Four checkpoint there" >&2
        exit 2
    fi
done
alphazero ablate "$config" --study arms --out "$out"
alphazero ablate "$config" --study boundary --out "$out/boundary"
echo "results: $out/summary.md and $out/boundary/summary.md"
