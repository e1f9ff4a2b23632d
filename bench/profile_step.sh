#!/usr/bin/env bash
# Where a training step of the seed network spends its time on this CPU: `perf record` on
# `speed --mode train` once warm, the samples grouped by what the functions do, and the share
# of the threads' time spent idle. Needs `perf` (linux-tools).
#
#   bench/profile_step.sh [--threads 2] [--batch-size 64] [--bin target/release/speed]
#
# The program sets CNN_KERNELS, if given, for A/B profiles (for example CNN_KERNELS=burn:optim
# for burn's optimizer step). Recording starts after 4 s, past start-up and the first steps.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc) batch=64 bin=
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) threads=$2; shift 2 ;;
        --batch-size) batch=$2; shift 2 ;;
        --bin) bin=$2; shift 2 ;;
        *) echo "unknown flag $1" >&2; exit 2 ;;
    esac
done
if [ -z "$bin" ]; then
    cargo build --release --quiet -p cnn-bench --bin speed
    bin=target/release/speed
fi
out=$(mktemp -d)
export RAYON_NUM_THREADS=$threads
run=("$bin" --mode train --batch-size "$batch" --steps 24)
perf stat -e task-clock -D 4000 -o "$out/stat.txt" "${run[@]}" > "$out/speed.json" 2> "$out/stat.err"
perf record -q -D 4000 -F 999 -g -o "$out/perf.data" "${run[@]}" > /dev/null 2> "$out/record.err"
perf report -i "$out/perf.data" --no-children --sort sym --stdio 2>/dev/null > "$out/report.txt"
python3 bench/profile_classify.py "$out" "$threads"
