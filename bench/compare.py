"""Runs the seed network's training step and inference in burn (`bench/src/bin/speed.rs`) and in
PyTorch (`seed_torch.py`) side by side, alternating which goes first each round, and prints
images/s, the ratio burn / PyTorch, the first step and peak memory. Called by `compare.sh`.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GPU_BACKENDS = ("wgpu", "vulkan", "cuda")


def run(command, env=None):
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def warmup(args):
    return ["--warmup", str(args.warmup), "--warmup-secs", str(args.warmup_secs)]


def burn(args, mode, batch):
    env = dict(os.environ)
    if args.threads:
        env["RAYON_NUM_THREADS"] = str(args.threads)
    # As the examples train: replayed on GPU backends unless --no-replay.
    replayed = args.replay if args.replay is not None else args.backend in GPU_BACKENDS
    replay = ["--replay"] if replayed else []
    return run([args.burn_bin, "--mode", mode, "--batch-size", str(batch), "--steps",
                str(args.steps), *warmup(args), "--backend", args.backend,
                "--conv-precision", args.conv_precision, *replay], env)


def torch(args, mode, batch):
    command = [sys.executable, str(HERE / "seed_torch.py"), "--mode", mode, "--batch-size",
               str(batch), "--steps", str(args.steps), *warmup(args), "--device",
               args.torch_device]
    if args.threads:
        command += ["--threads", str(args.threads)]
    return run(command)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--burn-bin", required=True)
    parser.add_argument("--backend", default="flex")
    parser.add_argument("--torch-device", default="cpu")
    # f16 or bf16: burn's convolutions in a half type (for GPUs). PyTorch keeps its defaults,
    # which on NVIDIA GPUs run convolutions in TF32.
    parser.add_argument("--conv-precision", default="f32")
    parser.add_argument("--replay", action=argparse.BooleanOptionalAction,
                        help="burn's training steps and forward passes through "
                        "cnn::runtime::replay (default: on GPU backends, as the examples)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--batch-sizes", default="64")
    parser.add_argument("--modes", default="train,infer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--warmup-secs", type=float, default=1.0)
    parser.add_argument("--json", type=Path, help="also write every run here, one per line")
    args = parser.parse_args()

    runs = []
    for batch in map(int, args.batch_sizes.split(",")):
        for mode in args.modes.split(","):
            for r in range(args.rounds):
                pair = [("burn", burn), ("pytorch", torch)]
                for name, fn in pair if r % 2 == 0 else pair[::-1]:
                    result = fn(args, mode, batch)
                    result.update(name=name, round=r)
                    runs.append(result)
                    print(f"  {name:8} {mode:5} batch {batch:4} round {r + 1}: "
                          f"{result['images_per_s']:9.1f} images/s", file=sys.stderr)
    if args.json:
        args.json.write_text("".join(json.dumps(r) + "\n" for r in runs))
    print_table(runs)


def print_table(runs):
    print(f"\n{'mode':6} {'batch':>5}  {'burn img/s':>11} {'PyTorch img/s':>13} {'ratio':>6}  "
          f"{'burn 1st step':>13} {'PyTorch 1st':>11}  {'burn peak MiB':>13} {'PyTorch peak MiB':>16}")
    keys = sorted({(r["mode"], r["batch_size"]) for r in runs}, key=lambda k: (k[1], k[0] != "train"))
    for mode, batch in keys:
        def pick(name, field):
            values = [r[field] for r in runs
                      if r["name"] == name and r["mode"] == mode and r["batch_size"] == batch
                      and r.get(field) is not None]
            return statistics.median(values) if values else float("nan")
        b, t = pick("burn", "images_per_s"), pick("pytorch", "images_per_s")
        peak_t = pick("pytorch", "peak_gpu_mib")
        peak_t = pick("pytorch", "peak_rss_mib") if peak_t != peak_t else peak_t
        print(f"{mode:6} {batch:5}  {b:11.1f} {t:13.1f} {b / t:6.2f}  "
              f"{pick('burn', 'first_step_s'):12.2f}s {pick('pytorch', 'first_step_s'):10.2f}s  "
              f"{pick('burn', 'peak_rss_mib'):13.0f} {peak_t:16.0f}")
    print("\nimages/s and first step: medians over rounds (each round's figure is the median of "
          "its timed steps); peak memory: resident set (PyTorch on CUDA: GPU memory allocated).")
    precisions = {r["conv_precision"] for r in runs if r["name"] == "burn"}
    if precisions - {"f32"}:
        print(f"burn's convolutions ran in {', '.join(sorted(precisions))} (--conv-precision).")
    replaying = {r.get("replaying") for r in runs if r["name"] == "burn"} - {None}
    if replaying:
        print(f"burn's steps replayed recorded ones (--replay): {replaying == {True}}.")


if __name__ == "__main__":
    main()
