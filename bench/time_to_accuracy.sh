#!/usr/bin/env bash
# Training minutes until the seed network first reaches 99% test accuracy on full MNIST, in
# burn (bench/src/bin/time_to_accuracy.rs) and in PyTorch (bench/mnist_torch.py), one after the
# other with the same settings and thread count. About an hour on 2 cores.
#
#   bench/time_to_accuracy.sh [--data-dir ../shared/data/mnist] [--threads 2] [--epochs 4]
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data/mnist threads=$(nproc) epochs=4
while [ $# -gt 0 ]; do
    case "$1" in
        --data-dir) data=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --epochs) epochs=$2; shift 2 ;;
        *) echo "unknown flag $1" >&2; exit 2 ;;
    esac
done
venv=bench/.venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    python3 -m venv "$venv" && "$venv/bin/pip" install --quiet torch
fi
cargo build --release --quiet -p cnn-bench --bin time_to_accuracy
out=$(mktemp -d)
"$venv/bin/python" bench/mnist_torch.py --data-dir "$data" --threads "$threads" \
    --epochs "$epochs" | tee "$out/torch.jsonl"
RAYON_NUM_THREADS=$threads target/release/time_to_accuracy --data-dir "$data" \
    --epochs "$epochs" | tee "$out/burn.jsonl"
"$venv/bin/python" - "$out" <<'PY'
import json, sys
from pathlib import Path
rows = [json.loads(Path(sys.argv[1], f).read_text().splitlines()[-1]) for f in ("burn.jsonl", "torch.jsonl")]
for r in rows:
    per_epoch = ", ".join(f"{e['test_accuracy']:.2%} at {e['train_minutes']:.1f} min" for e in r["epochs"])
    reached = r["minutes_to_target"]
    print(f"{r['framework']:>22}: {'%.1f min' % reached if reached else 'not reached':>12} to {r['target']:.0%}  ({per_epoch})")
PY
