"""PyTorch's per-layer times for the rows of `bench/src/bin/layer_times.rs`: each convolution of the
seed network (forward, input gradient, weight gradient) and each dropout, batch 64, medians of
`--reps` runs, in milliseconds.

    python bench/layer_times_torch.py --threads 2
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from seed_torch import ARCH, Layer, read_arch


def timed(f):
    started = time.perf_counter()
    f()
    return (time.perf_counter() - started) * 1e3


def median(reps, f):
    return statistics.median(f() for _ in range(reps))


def conv_times(layer, shape, reps):
    conv = layer.op
    x = lambda grad: torch.rand(shape, requires_grad=grad)
    forward = lambda inp: conv(F.pad(inp, layer.pads) if layer.pads else inp)
    fwd = median(reps, lambda: timed(lambda: forward(x(False))))
    conv.weight.requires_grad_(False)
    conv.bias.requires_grad_(False)
    dx = median(reps, lambda: (lambda y: timed(lambda: y.sum().backward()))(forward(x(True))))
    conv.weight.requires_grad_(True)
    conv.bias.requires_grad_(True)
    dx = dx if shape[1] > 1 else float("nan")
    dw = median(reps, lambda: (lambda y: timed(lambda: y.sum().backward()))(forward(x(False))))
    return fwd, dx, dw


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{'layer':<7} {'operation':<26} {'PyTorch fwd/dx/dw ms':>24}")
    shape, counts = (1, 28, 28), {"C": 0, "P": 0, "FC": 0}
    for spec in read_arch(ARCH):
        layer = Layer(spec, shape)
        counts[spec["type"]] += 1
        name = {"C": "conv", "P": "pool", "FC": "fc"}[spec["type"]] + str(counts[spec["type"]])
        batch = (args.batch_size, *shape)
        if spec["type"] == "C":
            fwd, dx, dw = conv_times(layer, batch, args.reps)
            what = f"conv {shape[0]}->{layer.out[0]} k{spec['kernel_size'][0]} @{shape[1]}"
            print(f"{name:<7} {what:<26} {fwd:8.1f} / {dx:.1f} / {dw:.1f}")
        p = spec.get("drop_out", 0.0) / 100
        if p > 0:
            out = (args.batch_size, *layer.out)
            drop = torch.nn.Dropout(p)
            t = median(args.reps, lambda: (lambda x: timed(lambda: drop(x)))(torch.rand(out)))
            print(f"{name:<7} {f'dropout {p:.3f} of {list(layer.out)}':<26} {t:24.1f}")
        shape = layer.out


if __name__ == "__main__":
    main()
