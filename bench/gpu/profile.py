#!/usr/bin/env python3
"""Where a GPU training step's kernel time goes, from cubecl's profile log.

cubecl logs every kernel it launches with its time when a process runs with
`CUBECL_DEBUG_OPTION=profile CUBECL_DEBUG_LOG=FILE` (each kernel then waits for the one
before it, so the times are the GPU's own, plus one wait each). The log holds compilation,
autotuning and warm-up too; the steady steps at its end launch the same kernels in the same
order each step, so this finds that repeating sequence, averages its repeats and prints the
kernels of one step by total time:

    python3 bench/gpu/profile.py FILE [--top 25]
"""

import argparse
import re
import sys
from collections import defaultdict

LINE = re.compile(r"^\| ([0-9.]+)(ns|µs|ms|s) +\| (.+?)\s*$")
UNIT = {"ns": 1e-6, "µs": 1e-3, "ms": 1.0, "s": 1e3}


def launches(path):
    """Every launch in the log, in order, as (name, milliseconds)."""
    found = []
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            match = LINE.match(line)
            if match:
                value, unit, name = match.groups()
                found.append((name, float(value) * UNIT[unit]))
    return found


def step_period(names, min_period, max_period, max_tail):
    """(start, period, repeats) of the latest sequence of `min_period` to `max_period` launches
    that repeats at least three times in a row, allowing up to `max_tail` launches after it
    (the writes and reads around a run's last steps), or None."""
    for tail in range(max_tail + 1):
        end = len(names) - tail
        for period in range(min_period, min(max_period, end // 3) + 1):
            last = names[end - period : end]
            if last == names[end - 2 * period : end - period] == names[
                end - 3 * period : end - 2 * period
            ]:
                repeats = 3
                while (
                    end - (repeats + 1) * period >= 0
                    and names[end - (repeats + 1) * period : end - repeats * period] == last
                ):
                    repeats += 1
                return end - repeats * period, period, repeats
    return None


def short(name):
    """A kernel's name without cubecl's generic arguments, but with its family and hash."""
    parts = [part.strip() for part in name.split("|")]
    if len(parts) <= 2:
        return " ".join(parts)
    families = [part for part in parts[1:-1] if part.endswith("Family")]
    return " ".join([parts[0], *families, parts[-1]])


def kind(name):
    """A kernel's name without its hash and generic arguments: `ElemwiseFuse`, `MatmulEntry`."""
    return re.sub(r"_[0-9a-f]{8}$", "", name.split(" ")[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("log")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--min-period", type=int, default=20)
    parser.add_argument("--max-period", type=int, default=2000)
    parser.add_argument("--max-tail", type=int, default=200)
    args = parser.parse_args()

    found = launches(args.log)
    if not found:
        sys.exit(f"{args.log}: no kernel timings (was CUBECL_DEBUG_OPTION=profile set?)")
    names = [name for name, _ in found]
    period = step_period(names, args.min_period, args.max_period, args.max_tail)
    if period is None:
        sys.exit(f"{args.log}: {len(found)} launches, but no sequence repeats three times")
    start, length, repeats = period
    per_kernel = defaultdict(lambda: [0, 0.0])
    for name, ms in found[start : start + length * repeats]:
        per_kernel[short(name)][0] += 1
        per_kernel[short(name)][1] += ms
    total = sum(ms for _, ms in per_kernel.values()) / repeats
    print(f"{length} kernels a step, {total:.3f} ms of kernel time a step "
          f"(the mean of {repeats} steps; {len(found)} launches in the log)")
    ranked = sorted(per_kernel.items(), key=lambda item: -item[1][1])
    for name, (count, ms) in ranked[: args.top]:
        print(f"{ms / repeats:9.3f} ms {100 * ms / repeats / total:5.1f}% "
              f"{count / repeats:5.1f}x  {name}")
    rest = ranked[args.top :]
    if rest:
        ms = sum(ms for _, (_, ms) in rest) / repeats
        print(f"{ms:9.3f} ms {100 * ms / total:5.1f}%        {len(rest)} other kernels")
    print("by kind:")
    kinds = defaultdict(lambda: [0, 0.0])
    for name, (count, ms) in per_kernel.items():
        kinds[kind(name)][0] += count
        kinds[kind(name)][1] += ms
    for name, (count, ms) in sorted(kinds.items(), key=lambda item: -item[1][1]):
        print(f"{ms / repeats:9.3f} ms {100 * ms / repeats / total:5.1f}% "
              f"{count / repeats:5.1f}x  {name}")


if __name__ == "__main__":
    main()
