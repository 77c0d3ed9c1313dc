#!/usr/bin/env bash
# Offline demo of the InfoGAN core on the synthetic digits stand-in (a few minutes on a CPU):
# prepare the data, train mnist_infogan briefly, evaluate. Every output says "synthetic".
set -euo pipefail
cd "$(dirname "$0")/.."
INFOGAN=${INFOGAN:-.venv/bin/infogan}
ITERATIONS=${ITERATIONS:-300}
"$INFOGAN" prepare synthetic_digits --out data/processed/synthetic_digits.h5
"$INFOGAN" train mnist_infogan --data data/processed/synthetic_digits.h5 \
    --out results/demo/mnist_infogan/seed1 --seed 1 --iterations "$ITERATIONS" --checkpoint-every 100
"$INFOGAN" evaluate results/demo/mnist_infogan/seed1 --data data/processed/synthetic_digits.h5 \
    --out results/demo/mnist_infogan/seed1.json
