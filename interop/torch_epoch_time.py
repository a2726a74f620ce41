"""Epoch time of the same LeNets in PyTorch CPU, for the side-by-side figure in bench notes.

Not part of the tests. Usage: python interop/torch_epoch_time.py [DATA_DIR] [--threads N] [--epochs N]
Trains LeNet-300-100 and LeNet-5 (same layers, batch 100, SGD momentum 0.9, lr 0.05, cosine)
on the MNIST-format directory and prints seconds per epoch and final test accuracy.
"""
import argparse, gzip, os, struct, time
import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(directory, name):
    for candidate in (name, name + ".gz"):
        p = os.path.join(directory, candidate)
        if os.path.exists(p):
            return p
    raise SystemExit(f"{directory}: no {name}")


def models():
    lenet300 = nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
    lenet5 = nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
    return {"lenet300": lenet300, "lenet5": lenet5}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--models", default="lenet300,lenet5")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    xtr = read_idx(find(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255
    ytr = read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.int64)
    xte = read_idx(find(args.data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255
    yte = read_idx(find(args.data, "t10k-labels-idx1-ubyte")).astype(np.int64)
    mean, std = xtr.mean(), xtr.std()
    xtr = torch.from_numpy((xtr - mean) / std).unsqueeze(1)
    xte = torch.from_numpy((xte - mean) / std).unsqueeze(1)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    for name, model in models().items():
        if name not in args.models.split(","):
            continue
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.epochs)
        loss_fn = nn.CrossEntropyLoss()
        times = []
        for epoch in range(args.epochs):
            perm = torch.randperm(len(ytr))
            start = time.perf_counter()
            model.train()
            for i in range(0, len(ytr), 100):
                idx = perm[i : i + 100]
                opt.zero_grad()
                loss = loss_fn(model(xtr[idx]), ytr[idx])
                loss.backward()
                opt.step()
            times.append(time.perf_counter() - start)
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        print(f"{name}: {np.mean(times):.2f} s/epoch over {args.epochs} epochs ({args.threads} threads), test accuracy {100 * acc:.2f}%", flush=True)


if __name__ == "__main__":
    main()
