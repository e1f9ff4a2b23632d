"""PyTorch side of the time-to-accuracy comparison: the seed network (`seed_torch.SeedNet`)
trained on full MNIST with the settings of `bench/src/bin/time_to_accuracy.rs` (Adam lr 1e-3, eps
1e-8, L2 1e-3, batch 64, pixels in [0, 1], the learning rate times 0.1 every 2 epochs), the
test set evaluated after each epoch. Prints one JSON line; training minutes exclude evaluation.

    python bench/mnist_torch.py --data-dir ../shared/data/mnist --threads 2
"""

import argparse
import gzip
import json
import struct
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from seed_torch import ARCH, SeedNet, read_arch


def idx(path):
    """An IDX file (gzip'd or not) as a uint8 tensor."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(f">{dims}I", data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load(folder, split):
    prefix = "train" if split == "train" else "t10k"
    find = lambda kind: next(folder.glob(f"{prefix}-{kind}-idx*"))
    images = idx(find("images")).float().div(255).unsqueeze(1)
    return images, idx(find("labels")).long()


def accuracy(model, images, labels):
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(images), 500):
            correct += (model(images[i:i + 500]).argmax(1) == labels[i:i + 500]).sum().item()
    model.train()
    return correct / len(images)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--step", type=int, default=2, help="epochs between learning-rate drops")
    parser.add_argument("--gamma", type=float, default=0.1)
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x, train_y = load(args.data_dir, "train")
    test_x, test_y = load(args.data_dir, "test")
    model = SeedNet(read_arch(ARCH))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8, weight_decay=1e-3)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, args.step, args.gamma)
    seconds, reached, epochs = 0.0, None, []
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        order = torch.randperm(len(train_x))
        for i in range(0, len(order), args.batch_size):
            batch = order[i:i + args.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(train_x[batch]), train_y[batch])
            loss.backward()
            optimizer.step()
            loss.item()
        schedule.step()
        seconds += time.perf_counter() - started
        acc = accuracy(model, test_x, test_y)
        if acc >= args.target and reached is None:
            reached = seconds / 60
        epochs.append({"epoch": epoch, "train_minutes": seconds / 60, "test_accuracy": acc})
        print(json.dumps(epochs[-1]), flush=True)
    print(json.dumps({"framework": "pytorch " + torch.__version__, "target": args.target,
                      "minutes_to_target": reached, "epochs": epochs}), flush=True)


if __name__ == "__main__":
    main()
