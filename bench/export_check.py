"""The PyTorch side of `cnn export`: the module `seed_torch.py` builds from an ARCH file, its
parameter names and shapes, and the logits it gives with exported weights.

    # the names and shapes the export must match (committed as tests/torch/seed_state.json)
    python bench/export_check.py --state-shapes tests/torch/seed_state.json
    # weights exported by `cnn export RUN --format safetensors --probe` give the same logits
    python bench/export_check.py --arch RUN/seed.arch --weights model.safetensors \
        --probe model.safetensors.probe.json

Needs torch and safetensors (bench/.venv has torch; `pip install safetensors`).
"""

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_torch import ARCH, SeedNet, read_arch  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", type=Path, default=ARCH)
    parser.add_argument("--input", default="1,28,28", help="C,H,W")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--state-shapes", type=Path, help="write {name: shape} here")
    parser.add_argument("--weights", type=Path, help="a safetensors file from `cnn export`")
    parser.add_argument("--probe", type=Path, help="the export's .probe.json")
    args = parser.parse_args()
    shape = tuple(int(n) for n in args.input.split(","))
    model = SeedNet(read_arch(args.arch), shape, args.classes).eval()
    if args.state_shapes:
        shapes = {name: list(t.shape) for name, t in model.state_dict().items()}
        args.state_shapes.write_text(json.dumps(shapes, indent=1, sort_keys=True) + "\n")
        print(f"wrote {len(shapes)} names to {args.state_shapes}")
    if args.weights:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(args.weights)), strict=True)
        probe = json.loads(args.probe.read_text())
        images = torch.tensor(probe["values"], dtype=torch.float32).reshape(probe["input"])
        with torch.no_grad():
            logits = model(images).flatten()
        expected = torch.tensor(probe["logits"], dtype=torch.float32)
        worst = (logits - expected).abs().max().item()
        print(f"largest difference from the Rust logits: {worst:.3g}")
        if worst > 1e-4:
            sys.exit(1)


if __name__ == "__main__":
    main()
