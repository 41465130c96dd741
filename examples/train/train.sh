#!/usr/bin/env bash
# A stand-in for a training script: prints a loss per epoch.
epochs=${1:-3}
for epoch in $(seq 1 "$epochs"); do
  echo "epoch $epoch/$epochs loss=$(awk -v e="$epoch" 'BEGIN { printf "%.3f", 2.0 / e }')"
  sleep 1
done
echo "done"
