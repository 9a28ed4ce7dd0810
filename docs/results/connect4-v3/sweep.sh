#!/bin/bash
# Session 5: the match-time search settings of the connect4-v3 network against rollout:1000.
# 200 games per setting (seeds 10-11). The config's own setting came out best, so no change.
cd "$(dirname "$0")/../../.."
NET=${1:-runs/connect4-v3-final.pt}
for setting in "search.c_init=1.25" "search.c_init=2.5" "search.c_init=0.75" \
               "search.fpu_reduction=0.25" "search.c_init=2.5 search.fpu_reduction=0.25"; do
  sets=""; for s in $setting; do sets="$sets --set $s"; done
  for seed in 10 11; do
    echo "$setting seed $seed: $(alphazero match connect4 --a $NET:200:puct --b rollout:1000 \
      --games 100 --seed $seed $sets 2>/dev/null | grep wins)"
  done
done
