#!/usr/bin/env bash
# Two builds of `speed` (for example before and after a change), run alternately so that both
# see the same drift of a shared machine: images/s per round in training and inference, and
# the training step's phases.
#
#   bench/ab_speed.sh BEFORE AFTER [--rounds 4] [--threads 2] [--batch-size 64]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BEFORE AFTER [--rounds N] [--threads N] [--batch-size N]" >&2; exit 2; }
before=$1 after=$2
shift 2
rounds=4 threads=$(nproc) batch=64
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --batch-size) batch=$2; shift 2 ;;
        *) echo "unknown flag $1" >&2; exit 2 ;;
    esac
done
export RAYON_NUM_THREADS=$threads
for mode in train infer; do
    for round in $(seq "$rounds"); do
        for build in before after; do
            bin=$before
            [ "$build" = after ] && bin=$after
            "$bin" --mode "$mode" --batch-size "$batch" --steps 20 | python3 -c "
import json, sys
d = json.loads(sys.stdin.read())
phases = ', '.join(f'{k[:-2]} {v * 1e3:.1f} ms' for k, v in (d.get('phases') or {}).items())
print(f'$mode round $round $build: {d[\"images_per_s\"]:.1f} images/s' + (f' ({phases})' if phases else ''))"
        done
    done
done
