#!/usr/bin/env bash
# The accuracy results of the README: each best ARCH file with its recipe, trained with seeds
# 1 and 2 on the full training set (10% held out for validation) and tested once, at the end
# of each run, on the full 10,000-image test set. Prints each run's test accuracy.
#
#   bench/accuracy.sh [mnist|fashion|all] [OUT]      # default: all, runs/accuracy
#
# CNN (default target/release/cnn) is the command; CNN_DATA_DIR the data root.
set -euo pipefail
cd "$(dirname "$0")/.."
cnn="${CNN:-target/release/cnn}"
root="${CNN_DATA_DIR:-../shared/data}"
which="${1:-all}"
out="${2:-runs/accuracy}"

mnist() {
    "$cnn" train examples/arch/mnist-best.json --dataset mnist --data-dir "$root/mnist" \
        --epochs 12 --augment crop:2 --label-smoothing 0.1 --schedule cosine --lr 2e-3 \
        --weight-decay 1e-4 --seed "$1" --out "$out/mnist-seed$1"
}

fashion() {
    "$cnn" train examples/arch/fashion-best.json --dataset fashion-mnist \
        --data-dir "$root/fashion-mnist" --epochs 15 --augment crop-flip:2 \
        --label-smoothing 0.1 --schedule cosine --lr 2e-3 --weight-decay 1e-4 --seed "$1" \
        --out "$out/fashion-seed$1"
}

for seed in 1 2; do
    case "$which" in
        mnist) mnist "$seed" ;;
        fashion) fashion "$seed" ;;
        all) mnist "$seed"; fashion "$seed" ;;
        *) echo "usage: bench/accuracy.sh [mnist|fashion|all] [OUT]" >&2; exit 2 ;;
    esac
done
grep -H "test accuracy" "$out"/*/report.md
