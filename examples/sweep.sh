#!/usr/bin/env bash
# Submits six 2-GPU jobs at once; on a 4-GPU server two run at a time and the rest queue.
here=$(dirname "$0")
for lr in 0.1 0.03 0.01 0.003 0.001 0.0003; do
  "$here/../bin/stint" launch "$here/hello-gpu.yaml" --env LR=$lr --detach
done
