#!/bin/bash
# Session 5: the connect4-v3 run's final checkpoint (NEW) against the shipped network (OLD):
# solver-labelled positions, rollout:1000 over seeds 0-3 (100 games each, 2-ply paired random
# openings, PUCT 200), then head to head. Usage: compare.sh NEW_CHECKPOINT
# OLD is whatever nets/checkpoints/connect4.pt is: in session 5 it was the first network;
# since session 6 it is the v4 network, so this script no longer repeats that comparison.
set -e
cd "$(dirname "$0")/../../.."
NEW=${1:?give the new checkpoint}
OLD=nets/checkpoints/connect4.pt
python benchmarks/bench_connect4_strength.py "$NEW" --positions 1000 --games 100 --seed 0
for seed in 1 2 3; do
  for net in "$OLD" "$NEW"; do
    echo "seed $seed $net"
    alphazero match connect4 --a "$net:200:puct" --b rollout:1000 --games 100 --seed $seed | tail -2
  done
done
echo "head to head"
alphazero match connect4 --a "$NEW:200:puct" --b "$OLD:200:puct" --games 200 --seed 0 | tail -2
