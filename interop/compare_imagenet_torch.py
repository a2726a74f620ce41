"""ImageNet networks, one training step per image: PyTorch (CPU) next to autoprune, same machine,
same run, same threads.

Not part of CI (it needs a CPU build of PyTorch, which only some machines ship as a local wheel;
torchvision is not needed: the two networks are written out below with torchvision's structure,
and their parameter counts are checked against torchvision's):
    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install /opt/wheels/torch-*cpu*.whl numpy
    /tmp/torchvenv/bin/python interop/compare_imagenet_torch.py .build/release/autoprune [SIZE] [BATCH]

Both sides time forward + backward + an SGD step with momentum on random 224 × 224 images
(default), batch 32, 2 threads, after one warm-up step, in training mode (BatchNorm batch
statistics)."""
import json
import os
import subprocess
import sys
import time

import torch
from torch import nn

STEPS = 3


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.downsample = None
        if stride != 1 or cin != width * 4:
            self.downsample = nn.Sequential(nn.Conv2d(cin, width * 4, 1, stride, bias=False), nn.BatchNorm2d(width * 4))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


class BasicBlock(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = None
        if stride != 1 or cin != width:
            self.downsample = nn.Sequential(nn.Conv2d(cin, width, 1, stride, bias=False), nn.BatchNorm2d(width))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


def resnet(depth):
    block, counts, expansion = (Bottleneck, [3, 4, 6, 3], 4) if depth == 50 else (BasicBlock, [2, 2, 2, 2], 1)
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for stage, count in enumerate(counts):
        width = 64 << stage
        for b in range(count):
            layers.append(block(cin, width, 2 if stage > 0 and b == 0 else 1))
            cin = width * expansion
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000))


def divisible(v):
    rounded = max(8, int(v + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * v else rounded


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        layers = []
        if t != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2():
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    cin = 32
    layers = [nn.Conv2d(3, cin, 3, 2, 1, bias=False), nn.BatchNorm2d(cin), nn.ReLU6()]
    for t, c, n, s in settings:
        for i in range(n):
            layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    layers += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Dropout(0.2), nn.Linear(1280, 1000)]
    return nn.Sequential(*layers)


def step_seconds(model, size, batch):
    torch.manual_seed(1)
    x = torch.rand(batch, 3, size, size) * 2 - 1
    y = torch.arange(batch) % 1000
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def one():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    model.train()
    one()
    start = time.perf_counter()
    for _ in range(STEPS):
        one()
    return (time.perf_counter() - start) / STEPS


def main():
    binary = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 224
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    threads = 2
    torch.set_num_threads(threads)
    expected = {"resnet50": 25_557_032, "mobilenetv2": 3_504_872, "resnet18": 11_689_512}
    torch_ms = {}
    for name, make in [("resnet50", lambda: resnet(50)), ("mobilenetv2", mobilenet_v2), ("resnet18", lambda: resnet(18))]:
        model = make()
        count = sum(p.numel() for p in model.parameters())
        assert count == expected[name], f"{name}: {count} parameters, torchvision has {expected[name]}"
        torch_ms[name] = 1000 * step_seconds(model, size, batch) / batch
    env = dict(os.environ)
    out = subprocess.run([binary, "bench", "--only", "imagenet", "--image-size", str(size), "--batch", str(batch), "--threads", str(threads), "--json"],
                         check=True, capture_output=True, text=True, env=env).stdout
    ours = {row["model"]: row["ms_per_image"] for row in json.loads(out.strip().splitlines()[-1])["imagenet"]}
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    model_line = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model\t")), "?")
    print(f"{cpu} (model {model_line}), {threads} threads, {size}×{size}, batch {batch}, PyTorch {torch.__version__}")
    print(f"{'model':<12} {'autoprune ms/image':>19} {'PyTorch ms/image':>17} {'ratio':>6}")
    for name in torch_ms:
        print(f"{name:<12} {ours[name]:>19.1f} {torch_ms[name]:>17.1f} {ours[name] / torch_ms[name]:>6.2f}")


if __name__ == "__main__":
    main()
