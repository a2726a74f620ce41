"""Interop check: `autoprune export` ONNX models run in onnxruntime with autoprune's logits.

For LeNet-300-100 and LeNet-5, trained and pruned briefly on the bundled subset: the masked
export and the thinned export (`--thin`, from a unit-pruned model) must pass onnx.checker, and
onnxruntime on the normalised test set must give autoprune's logits (max |Δlogit| < 1e-4)
and the same top-1 on every image. The same for ResNet-20 and VGG-like (width 0.25) trained
briefly on the bundled subset padded to 32 × 32 (BatchNorm with running averages, residual Adds,
global average pooling).

Usage: python interop/check_onnx.py PATH/TO/autoprune WORKDIR
"""
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from common import finish, run
from safetensors.numpy import load_file

TOLERANCE = 1e-4


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    failures = []
    # μ per network: enough to remove filters in two epochs on the bundled subset, not all of them.
    for model, flags, mu in [("resnet20", [], "4e-3"), ("vgg-like", ["--width", "0.25"], "2e-2")]:
        weights = work / f"{model}.safetensors"
        run(binary, "train", "--model", model, *flags, "--data", "bundled", "--resize", "32", "--epochs", "1", "--out", str(weights))
        data = ["--data", "bundled", "--resize", "32"]
        compare(binary, work, model, "dense", weights, [], data, failures)
        # Filter-pruned: closed BatchNorm channels (masked) and removed ones (thinned; for
        # ResNet-20 across the residual additions).
        pruned = work / f"{model}-unit.safetensors"
        run(binary, "prune", "--model", model, *flags, *data, "--weights", str(weights), "--granularity", "unit",
            "--mu", mu, "--mask-lr", "1", "--prune-epochs", "2", "--finetune-epochs", "0", "--out", str(pruned))
        for form, thin in [("masked", []), ("thinned", ["--thin"])]:
            compare(binary, work, model, form, pruned, thin, data, failures)
    for model in ["lenet300", "lenet5"]:
        dense = work / f"{model}.safetensors"
        run(binary, "train", "--model", model, "--data", "bundled", "--epochs", "2", "--out", str(dense))
        pruned = work / f"{model}-unit.safetensors"
        run(binary, "prune", "--model", model, "--data", "bundled", "--weights", str(dense), "--granularity", "unit",
            "--mu", "3e-2", "--mask-lr", "1", "--prune-epochs", "3", "--finetune-epochs", "0", "--out", str(pruned))
        for form, flags in [("masked", []), ("thinned", ["--thin"])]:
            # The whole test set: Fashion-MNIST's 10,000 images when installed, else the bundled 500.
            compare(binary, work, model, form, pruned, flags, [], failures)
    finish(failures, "ONNX interop")


def compare(binary, work, model, form, weights, flags, data, failures):
    """Exports `weights` (with `flags`), runs it in onnxruntime on autoprune's normalised test
    inputs and compares the logits."""
    path = work / f"{model}-{form}.onnx"
    print(run(binary, "export", "--weights", str(weights), "--out", str(path), *flags).strip())
    onnx.checker.check_model(onnx.load(str(path)))
    logits_file = work / f"{model}-{form}-logits.safetensors"
    run(binary, "eval", "--weights", str(weights), "--logits-out", str(logits_file), *flags, *data)
    ours = load_file(str(logits_file))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = session.run(["logits"], {"input": ours["inputs"]})[0]
    difference = float(np.abs(theirs - ours["logits"]).max())
    same_top1 = float((theirs.argmax(1) == ours["logits"].argmax(1)).mean())
    print(f"{model} {form}: max |Δlogit| {difference:.2e}, top-1 agreement {same_top1:.4f} on {len(theirs)} images")
    if difference >= TOLERANCE or same_top1 < 1:
        failures.append(f"{model} {form}: onnxruntime differs ({difference:.2e}, top-1 {same_top1:.4f})")


if __name__ == "__main__":
    main()
