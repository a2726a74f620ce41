"""Interop check: our safetensors files in Python, and a PyTorch-layout state dict in autoprune.

1. `autoprune train` / `prune` files load with `safetensors.numpy.load_file`, with PyTorch names
   and layouts (`fc1.weight` is [out, in], conv weights [out, in, kh, kw]) and masks named
   `NAME.weight_mask` like `torch.nn.utils.prune`.
2. A state dict written from Python (PyTorch layouts, random weights) loads into autoprune, and
   its logits on the test set equal a float64 NumPy forward pass with PyTorch's semantics
   (Linear: x·Wᵀ + b; Conv2d: cross-correlation, NCHW; MaxPool2d(2); ReLU).
3. A ResNet-20 state dict as PyTorch writes one (BatchNorm's int64 `num_batches_tracked`
   counters, no metadata) loads and gives the logits of the file it was made from.

Usage: python interop/check_safetensors.py PATH/TO/autoprune WORKDIR
"""
import sys
from pathlib import Path

import numpy as np
from common import finish, run
from safetensors.numpy import load_file, save_file

TOLERANCE = 1e-5  # max |Δlogit| relative to the largest |logit| (float32 vs float64 summation)


def conv2d(x, w, b):
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    oh, ow = h - k + 1, wd - k + 1
    cols = np.empty((n, c, k, k, oh, ow))
    for ky in range(k):
        for kx in range(k):
            cols[:, :, ky, kx] = x[:, :, ky:ky + oh, kx:kx + ow]
    y = np.einsum("nckjhw,ockj->nohw", cols, w)
    return y + b[None, :, None, None]


def maxpool2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def forward(model, p, x):
    relu = lambda t: np.maximum(t, 0)
    if model == "lenet300":
        h = x.reshape(len(x), -1)
        h = relu(h @ p["fc1.weight"].T + p["fc1.bias"])
        h = relu(h @ p["fc2.weight"].T + p["fc2.bias"])
        return h @ p["fc3.weight"].T + p["fc3.bias"]
    h = maxpool2(relu(conv2d(x, p["conv1.weight"], p["conv1.bias"])))
    h = maxpool2(relu(conv2d(h, p["conv2.weight"], p["conv2.bias"])))
    h = relu(h.reshape(len(h), -1) @ p["fc1.weight"].T + p["fc1.bias"])
    return h @ p["fc2.weight"].T + p["fc2.bias"]


SHAPES = {
    "lenet300": {"fc1.weight": (300, 784), "fc1.bias": (300,), "fc2.weight": (100, 300), "fc2.bias": (100,),
                 "fc3.weight": (10, 100), "fc3.bias": (10,)},
    "lenet5": {"conv1.weight": (20, 1, 5, 5), "conv1.bias": (20,), "conv2.weight": (50, 20, 5, 5), "conv2.bias": (50,),
               "fc1.weight": (500, 800), "fc1.bias": (500,), "fc2.weight": (10, 500), "fc2.bias": (10,)},
}


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    failures = []

    # 1. Our files in Python.
    for model in SHAPES:
        dense = work / f"{model}.safetensors"
        run(binary, "train", "--model", model, "--data", "bundled", "--epochs", "1", "--out", str(dense))
        tensors = load_file(str(dense))
        for name, shape in SHAPES[model].items():
            if tensors.get(name) is None or tensors[name].shape != shape or tensors[name].dtype != np.float32:
                failures.append(f"{dense.name}: {name} is {tensors.get(name, np.empty(0)).shape}, expected {shape} float32")
        pruned = work / f"{model}-pruned.safetensors"
        run(binary, "prune", "--model", model, "--data", "bundled", "--weights", str(dense), "--method", "magnitude",
            "--sparsity", "0.9", "--prune-epochs", "1", "--finetune-epochs", "0", "--out", str(pruned))
        masks = {k: v for k, v in load_file(str(pruned)).items() if k.endswith(".weight_mask")}
        expected = {n + "_mask" for n in SHAPES[model] if n.endswith(".weight")}
        if set(masks) != expected:
            failures.append(f"{pruned.name}: masks {sorted(masks)}, expected {sorted(expected)}")
        kept = sum(float(m.sum()) for m in masks.values()) / sum(m.size for m in masks.values())
        if abs(kept - 0.1) > 0.01:
            failures.append(f"{pruned.name}: masks keep {kept:.3f} of the weights, expected 0.1")

    # 2. A PyTorch-layout state dict in autoprune: same logits as the reference forward pass.
    rng = np.random.default_rng(0)
    for model, shapes in SHAPES.items():
        state = {n: (rng.standard_normal(s) / np.sqrt(np.prod(s[1:]) if len(s) > 1 else 10)).astype(np.float32) for n, s in shapes.items()}
        path = work / f"{model}-from-python.safetensors"
        save_file(state, str(path))
        out = work / f"{model}-logits.safetensors"
        run(binary, "eval", "--model", model, "--weights", str(path), "--data", "bundled", "--logits-out", str(out))
        ours = load_file(str(out))
        reference = forward(model, {k: v.astype(np.float64) for k, v in state.items()}, ours["inputs"].astype(np.float64))
        difference = np.abs(ours["logits"] - reference).max() / max(1.0, np.abs(reference).max())
        same_top1 = (ours["logits"].argmax(1) == reference.argmax(1)).mean()
        print(f"{model}: max |Δlogit| / max|logit| = {difference:.2e}, top-1 agreement {same_top1:.4f} on {len(reference)} images")
        if difference > TOLERANCE or same_top1 < 1:
            failures.append(f"{model}: logits differ from the reference ({difference:.2e}, top-1 {same_top1:.4f})")

    # 3. A PyTorch-style ResNet-20 state dict: int64 BatchNorm counters, no autoprune metadata.
    ours_file = work / "resnet20.safetensors"
    data = ["--data", "bundled", "--resize", "32"]
    run(binary, "train", "--model", "resnet20", *data, "--epochs", "1", "--out", str(ours_file))
    state = load_file(str(ours_file))
    for name in [n for n in state if n.endswith(".running_mean")]:
        state[name[: -len("running_mean")] + "num_batches_tracked"] = np.array(16, dtype=np.int64)
    torch_style = work / "resnet20-torch-style.safetensors"
    save_file(state, str(torch_style))
    logits = {}
    for label, path, flags in [("ours", ours_file, []), ("torch-style", torch_style, ["--model", "resnet20"])]:
        out = work / f"resnet20-{label}-logits.safetensors"
        run(binary, "eval", *flags, "--weights", str(path), *data, "--logits-out", str(out))
        logits[label] = load_file(str(out))["logits"]
    difference = np.abs(logits["ours"] - logits["torch-style"]).max()
    counters = sum(n.endswith("num_batches_tracked") for n in state)
    print(f"resnet20 PyTorch-style state dict ({counters} int64 counters): max |Δlogit| {difference:.2e}")
    if difference > 1e-6:
        failures.append(f"resnet20 torch-style state dict: logits differ by {difference:.2e}")

    finish(failures, "safetensors interop")


if __name__ == "__main__":
    main()
