"""The seed network in PyTorch, built from the same ARCH file as the Rust side, timed the same way
as `bench/src/bin/speed.rs`: a training step (forward, softmax cross-entropy, backward, Adam with L2
1e-3, reading the loss) or inference (eval mode, argmax read back), on random 1x28x28 images.
Prints one JSON line.

TensorFlow SAME padding (out = ceil(in / stride), the extra pixel at the end) is the layer's
own padding where it is even and an explicit F.pad where it is not; weights are Glorot-uniform
with zero biases, as in `cnn_runtime::init`.

    python bench/seed_torch.py --mode train --batch-size 64 --threads 2
"""

import argparse
import ast
import json
import math
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCH = Path(__file__).resolve().parent.parent / "examples" / "arch" / "seed.arch"


def read_arch(path):
    """The list assigned in a Python `ARCH = [...]` file, or a bare list."""
    text = path.read_text()
    if "=" in text.split("[", 1)[0]:
        text = text.split("=", 1)[1]
    return ast.literal_eval(text.strip())


def same_pads(size, kernel, stride):
    """TensorFlow SAME: (before, after) padding and output size."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return (total // 2, total - total // 2), out


def pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


class Layer(nn.Module):
    def __init__(self, spec, shape):
        super().__init__()
        c, h, w = shape
        self.kind = spec["type"]
        self.drop = nn.Dropout(spec.get("drop_out", 0.0) / 100.0)
        self.act = spec.get("activation", "relu")
        if self.kind == "FC":
            self.op = nn.Linear(c * h * w, spec["num_output"])
            self.out = (spec["num_output"], 1, 1)
            return
        k, s = pair(spec["kernel_size"]), pair(spec.get("stride", 1))
        (pt, pb), oh = same_pads(h, k[0], s[0])
        (pl, pr), ow = same_pads(w, k[1], s[1])
        # Symmetric padding goes to the layer itself, as a PyTorch user would write it; only
        # TensorFlow's uneven SAME padding needs an explicit F.pad.
        symmetric = pt == pb and pl == pr and pt <= k[0] // 2 and pl <= k[1] // 2
        self.pads = None if symmetric else (pl, pr, pt, pb)
        inner = (pt, pl) if symmetric else 0
        max_pool = spec.get("pool", "max") == "max"
        self.pad_value = -math.inf if max_pool else 0.0
        if self.kind == "C":
            self.op = nn.Conv2d(c, spec["num_output"], k, s, padding=inner)
            self.out = (spec["num_output"], oh, ow)
        elif max_pool:
            self.op = nn.MaxPool2d(k, s, padding=inner)
            self.out = (c, oh, ow)
        else:
            self.op = nn.AvgPool2d(k, s, padding=inner, count_include_pad=False)
            self.out = (c, oh, ow)

    def forward(self, x):
        if self.kind == "FC":
            return self.drop(self.activate(self.op(x.flatten(1))))
        if self.pads:
            x = F.pad(x, self.pads, value=0.0 if self.kind == "C" else self.pad_value)
        x = self.op(x)
        return self.drop(self.activate(x) if self.kind == "C" else x)

    def activate(self, x):
        return {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
                "leaky_relu": lambda t: F.leaky_relu(t, 0.2), "linear": lambda t: t}[self.act](x)


class SeedNet(nn.Module):
    def __init__(self, arch, input_shape=(1, 28, 28), classes=10):
        super().__init__()
        layers, shape = [], input_shape
        for spec in arch:
            layers.append(Layer(spec, shape))
            shape = layers[-1].out
        self.layers = nn.Sequential(*layers)
        self.output = nn.Linear(math.prod(shape), classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.output(self.layers(x).flatten(1))


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def repeat(step, args, device):
    """Every step's seconds: one first step, the warm-up (--warmup steps and --warmup-secs
    after the first step, whichever is longer, as in bench/src/bin/speed.rs), the timed steps."""
    def timed():
        started = time.perf_counter()
        step()
        sync(device)
        return time.perf_counter() - started

    seconds = [timed()]
    warming = time.perf_counter()
    while len(seconds) <= args.warmup or time.perf_counter() - warming < args.warmup_secs:
        seconds.append(timed())
    return seconds + [timed() for _ in range(args.steps)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["train", "infer"], default="train")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--warmup-secs", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--arch", type=Path, default=ARCH)
    parser.add_argument(
        "--no-tf32", action="store_true",
        help="convolutions in full f32: by default PyTorch runs cuDNN's in TF32 (an f32 range "
             "with f16's 10-bit mantissa) on NVIDIA GPUs since Ampere")
    args = parser.parse_args()
    if args.no_tf32:
        torch.backends.cudnn.allow_tf32 = False
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = SeedNet(read_arch(args.arch)).to(device)
    images = torch.rand(args.batch_size, 1, 28, 28, device=device)
    targets = (torch.arange(args.batch_size) % 10).to(device)

    if args.mode == "train":
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8, weight_decay=1e-3)

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(images), targets)
            loss.backward()
            optimizer.step()
            loss.item()
    else:
        model.eval()

        def step():
            with torch.inference_mode():
                model(images).argmax(1).cpu()

    seconds = repeat(step, args, device)
    timed = seconds[len(seconds) - args.steps:]
    median = statistics.median(timed)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "framework": "pytorch " + torch.__version__,
        "backend": args.device,
        "mode": args.mode,
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "steps": len(timed),
        "first_step_s": seconds[0],
        "warmup_steps": len(seconds) - args.steps - 1,
        "median_step_s": median,
        "step_s": [round(s, 6) for s in timed],
        "images_per_s": args.batch_size / median,
        "peak_rss_mib": peak,
        "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
        "tf32": {"cudnn": torch.backends.cudnn.allow_tf32,
                 "matmul": torch.backends.cuda.matmul.allow_tf32},
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
