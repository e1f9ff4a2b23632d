#!/usr/bin/env bash
# Random search, regularized evolution and REINFORCE on Fashion-MNIST with the same budget:
# TRIALS (default 50) networks each from examples/search/small.py, every one trained for 2
# epochs on a stratified 6,000-image subset and scored on 6,000 held-out training images.
# Then one report whose best-reward plot has a line per strategy.
#
#   bench/search_fashion.sh [OUT]        # default runs/search-fashion
#
# CNN (default target/release/cnn) is the command; CNN_DATA_DIR the data root.
set -euo pipefail
cd "$(dirname "$0")/.."
cnn="${CNN:-target/release/cnn}"
data="${CNN_DATA_DIR:-../shared/data}/fashion-mnist"
out="${1:-runs/search-fashion}"
trials="${TRIALS:-50}"
for strategy in random evolution reinforce; do
    "$cnn" search run --study "$out/$strategy.db" --space examples/search/small.py \
        --dataset fashion-mnist --data-dir "$data" --strategy "$strategy" --seed 1 \
        --trials "$trials" --epochs 2 --train-limit 6000 --validation 0.1
done
"$cnn" search report --study "$out/reinforce.db" --out "$out/compare" \
    --compare "$out/evolution.db" --compare "$out/random.db"
for strategy in random evolution reinforce; do
    echo "== $strategy"
    "$cnn" search status --study "$out/$strategy.db"
done
