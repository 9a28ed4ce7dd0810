#!/bin/bash
# Old (shipped, step 10000 of connect4-main) and new (connect4-v2, step 23050) against rollout:1000, seeds 1-3, then head to head.
cd /work/main
NEW=runs/connect4-v2/checkpoints/step_00023050.pt
OLD=nets/checkpoints/connect4.pt
for seed in 1 2 3; do
  for net in $OLD $NEW; do
    echo "seed $seed $net"; alphazero match connect4 --a $net:200:puct --b rollout:1000 --games 100 --seed $seed | tail -2
  done
done
echo "head to head"; alphazero match connect4 --a $NEW:200:puct --b $OLD:200:puct --games 200 --seed 0 | tail -2
