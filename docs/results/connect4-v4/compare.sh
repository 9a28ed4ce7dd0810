#!/bin/bash
# Session 6: a Connect Four network (NEW) on solver-labelled positions and against
# rollout:1000 (bench_connect4_strength.py: 1,000 positions and seed 0; then seeds 1-3, 100
# games each, 2-ply paired random openings, PUCT 200), then head to head against OLD when given.
# In session 6, NEW was the connect4-v4 run's final step (now nets/checkpoints/connect4.pt)
# and OLD the file shipped before it (session 5's network, kept as runs/connect4-v3-final.pt
# outside the repository). OLD's results on seeds 0-3 are in ../connect4-v3/compare.log: a
# network at PUCT and a seeded rollout player are deterministic, so they are not replayed.
# Usage: compare.sh NEW_CHECKPOINT [OLD_CHECKPOINT]
set -e
cd "$(dirname "$0")/../../.."
NEW=${1:?give the new checkpoint}
OLD=${2:-}
python benchmarks/bench_connect4_strength.py "$NEW" --positions 1000 --games 100 --seed 0
for seed in 1 2 3; do
  echo "seed $seed $NEW"
  alphazero match connect4 --a "$NEW:200:puct" --b rollout:1000 --games 100 --seed $seed | tail -2
done
if [ -n "$OLD" ]; then
  echo "head to head"
  alphazero match connect4 --a "$NEW:200:puct" --b "$OLD:200:puct" --games 200 --seed 0 | tail -2
fi
