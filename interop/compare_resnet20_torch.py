"""ResNet-20 training epoch time: PyTorch (CPU) next to autoprune, same machine, same run.

Not part of CI (it needs a CPU build of PyTorch, which only some machines ship as a local wheel):
    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install /opt/wheels/torch-*cpu*.whl numpy
    /tmp/torchvenv/bin/python interop/compare_resnet20_torch.py .build/release/autoprune

Both sides train the same network (He et al.'s CIFAR ResNet-20 with 1×1-convolution + BatchNorm
shortcuts, 272k parameters on one input channel) on the same images (Fashion-MNIST padded to
32 × 32) with batch 128, SGD (momentum 0.9, weight decay 5e-4) and random crop + flip, on the same
number of threads, for a tenth of an epoch, scaled to the whole epoch."""
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
LABELS = "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"
FRACTION = 0.1
BATCH = 128


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def resnet20(channels):
    layers = [nn.Conv2d(channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    cin = 16
    for stage, width in enumerate([16, 32, 64]):
        for b in range(3):
            layers.append(Block(cin, width, 2 if stage > 0 and b == 0 else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main():
    binary = sys.argv[1]
    threads = os.cpu_count()
    torch.set_num_threads(threads)
    images = idx(DATA, 16).reshape(-1, 1, 28, 28)
    labels = idx(LABELS, 8).astype(np.int64)
    padded = np.zeros((len(images), 1, 32, 32), np.float32)
    padded[:, :, 2:30, 2:30] = images / 255.0
    padded = (padded - padded.mean()) / padded.std()
    count = int(len(images) * FRACTION)
    x, y = torch.from_numpy(padded[:count]), torch.from_numpy(labels[:count])
    fill = float(padded.min())
    model = resnet20(1)
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    rng = np.random.default_rng(1)

    def augment(batch):
        out = torch.full((batch.shape[0], 1, 40, 40), fill)
        out[:, :, 4:36, 4:36] = batch
        crops = []
        for i in range(batch.shape[0]):
            dy, dx = rng.integers(0, 9, 2)
            c = out[i, :, dy:dy + 32, dx:dx + 32]
            crops.append(torch.flip(c, [2]) if rng.random() < 0.5 else c)
        return torch.stack(crops)

    def epoch(n, augmented=True):
        model.train()
        order = torch.randperm(n)
        for start in range(0, n, BATCH):
            idx_ = order[start:start + BATCH]
            opt.zero_grad()
            inputs = augment(x[idx_]) if augmented else x[idx_]
            loss = nn.functional.cross_entropy(model(inputs), y[idx_])
            loss.backward()
            opt.step()

    def timed(augmented):
        start = time.perf_counter()
        epoch(count, augmented)
        return (time.perf_counter() - start) * len(images) / count

    epoch(BATCH)  # warm-up
    torch_epoch = timed(True)
    # The crops above are made per sample in Python, as torchvision's transforms do; without
    # them PyTorch's time is its network alone (a lower bound).
    torch_bare = timed(False)

    result = subprocess.run([binary, "bench", "--only", "resnet", "--json"], capture_output=True, text=True, check=True)
    ours = json.loads(result.stdout.strip().splitlines()[-1])["resnet"]
    print(f"ResNet-20, Fashion-MNIST padded to 32, batch 128, {threads} threads, {count} images timed:")
    print(f"  PyTorch {torch.__version__} (CPU): {torch_epoch:7.1f} s per epoch of {len(images)} ({torch_bare:.1f} s without the crops and flips)")
    print(f"  autoprune:              {ours['epoch_seconds']:7.1f} s per epoch of {ours['train_images']}")
    print(f"  autoprune / PyTorch:    {ours['epoch_seconds'] / torch_epoch:7.2f}")


main()
