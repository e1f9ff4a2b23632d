"""Groups a `perf report --sort sym` of a training step by what the functions do, and adds
the idle share from `perf stat`'s task clock; called by bench/profile_step.sh."""
import json
import re
import sys
from collections import Counter
from pathlib import Path

# First match wins. Rayon's loops compile their bodies into generic closures
# (`<impl Fn<A> for &F>::call`); a build with line tables places them in cnn-kernels'
# pool.rs (max pooling), dropout.rs (masks) and optim.rs (the fused optimizer step). Builds
# before 2026-12-06 ran part of the Winograd transforms in closures of std's `array::from_fn`
# (`core::ops::try_trait::Wrapped`).
GROUPS = [
    ("convolutions: GEMM (gemm crate)", r"gemm_f32|gemm_common"),
    ("convolutions: Winograd transforms, im2col, kernel rows",
     r"cnn_kernels::conv|try_trait::Wrapped"),
    ("optimizer (burn's operations)", r"burn_optim"),
    ("max pooling, dropout masks, fused optimizer (rayon closures)",
     r"impls::<impl core::ops::function::Fn|cnn_kernels::(pool|dropout|optim)"),
    ("element-wise passes (burn-flex: ReLU, masks, sums, copies)",
     r"burn_flex|macerator|burn_backend"),
    ("allocation: zeroing and copying buffers, page faults",
     r"memset|memmove|memcpy|clear_page|mi_|_mi_|page_fault|alloc"),
    ("autodiff bookkeeping (burn-autodiff)", r"burn_autodiff"),
    ("threads: rayon scheduling and waiting", r"rayon|crossbeam|futex|sched|switch_to|schedule"),
]

out, threads = Path(sys.argv[1]), int(sys.argv[2])
shares = Counter()
for line in (out / "report.txt").read_text().splitlines():
    m = re.match(r"\s+([\d.]+)%\s+\[[.k]\]\s+(.*)", line)
    if not m:
        continue
    share, sym = float(m.group(1)), m.group(2)
    group = next((g for g, rx in GROUPS if re.search(rx, sym)), "other")
    shares[group] += share
stat = (out / "stat.txt").read_text()
busy_s = float(re.search(r"([\d.,]+)\s+msec task-clock", stat).group(1).replace(",", "")) / 1e3
wall_s = float(re.search(r"([\d.]+) seconds time elapsed", stat).group(1))
speed = json.loads((out / "speed.json").read_text())
print(f"step: median {speed['median_step_s'] * 1e3:.0f} ms, {speed['images_per_s']:.1f} images/s; "
      "phases (ms): " + ", ".join(f"{k[:-2]} {v * 1e3:.1f}" for k, v in speed["phases"].items()))
print(f"threads idle: {100 * (1 - busy_s / (threads * wall_s)):.1f}% "
      f"({busy_s:.1f} s busy of {threads} x {wall_s:.1f} s)")
print("busy time, by share of CPU samples:")
for group, share in sorted(shares.items(), key=lambda kv: -kv[1]):
    print(f"  {share:5.1f}%  {group}")
