"""`autoprune import` on graphs written with onnx.helper, as another framework would write them:
a ResNet-18 of torchvision's shape (BatchNorm unfolded, and folded into the convolutions as
torch.onnx.export does), a CNN with residual blocks, a MobileNetV2-style depthwise block
(Clip as ReLU6, Reshape to 2-D, MatMul + Add), SqueezeNet fire modules (Concat), and a Sigmoid
(refused by name).

Each imported graph is exported again and must give the original's onnxruntime logits; the
small CNN and the fire-module net are then pruned to 90% sparsity and, with unit gates, to half
their FLOPs on the bundled Fashion-MNIST subset, exported thinned, and run by onnxruntime against
`autoprune eval`.
Usage: check_onnx_import.py AUTOPRUNE_BINARY WORK_DIRECTORY"""
import pathlib
import re
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

from common import finish, run

binary, work = sys.argv[1], pathlib.Path(sys.argv[2]) / "import"
work.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)
failures = []


class Graph:
    """Nodes and initializers of a graph being written, with fresh tensor names."""

    def __init__(self):
        self.nodes, self.initializers, self.count = [], [], 0

    def name(self, stem):
        self.count += 1
        return f"{stem}_{self.count}"

    def constant(self, stem, array):
        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, node_name=None, **attributes):
        output = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=node_name or output, **attributes))
        return output

    def conv(self, x, cin, cout, k, stride=1, pad=0, group=1, bias=False, name=None):
        fan_in = cin // group * k * k
        w = self.constant("w", rng.normal(0, (2 / fan_in) ** 0.5, (cout, cin // group, k, k)).astype(np.float32))
        inputs = [x, w] + ([self.constant("b", rng.normal(0, 0.1, cout).astype(np.float32))] if bias else [])
        return self.op("Conv", inputs, name, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, group=group)

    def bn(self, x, c):
        parts = [rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c), rng.normal(0, 0.1, c), rng.uniform(0.5, 2, c)]
        return self.op("BatchNormalization", [x] + [self.constant("bn", p.astype(np.float32)) for p in parts], epsilon=1e-5)

    def conv_bn(self, x, cin, cout, k, stride=1, pad=0, group=1, fold=False):
        """A convolution and its BatchNorm, or (fold) the one convolution torch.onnx.export
        writes for them in eval mode, with the BatchNorm in its weights and bias."""
        if not fold:
            return self.bn(self.conv(x, cin, cout, k, stride, pad, group), cout)
        return self.conv(x, cin, cout, k, stride, pad, group, bias=True)

    def save(self, path, input_shape, output, classes):
        graph = helper.make_graph(
            self.nodes, path.stem,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *input_shape])],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", classes])],
            self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnx.helper")
        model.ir_version = 7
        onnx.checker.check_model(model)
        onnx.save(model, str(path))


def basic_block(g, x, cin, cout, stride, fold):
    y = g.op("Relu", [g.conv_bn(x, cin, cout, 3, stride, 1, fold=fold)])
    y = g.conv_bn(y, cout, cout, 3, 1, 1, fold=fold)
    shortcut = g.conv_bn(x, cin, cout, 1, stride, 0, fold=fold) if stride != 1 or cin != cout else x
    return g.op("Relu", [g.op("Add", [y, shortcut])])


def resnet18(path, fold):
    """torchvision's ResNet-18 layout at 3 × 64 × 64 (10 classes)."""
    g = Graph()
    x = g.op("Relu", [g.conv_bn("input", 3, 64, 7, 2, 3, fold=fold)])
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    channels = 64
    for width, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        x = basic_block(g, x, channels, width, stride, fold)
        x = basic_block(g, x, width, width, 1, fold)
        channels = width
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    fc = g.op("Gemm", [x, g.constant("fc_w", rng.normal(0, 0.05, (10, 512)).astype(np.float32)),
                      g.constant("fc_b", np.zeros(10, np.float32))], transB=1)
    g.save(path, [3, 64, 64], fc, 10)
    return sum(int(np.prod(t.dims)) for t in g.initializers)


def small_cnn(path):
    """A CNN for 1 × 28 × 28 images with an identity and a projection residual block."""
    g = Graph()
    x = g.op("Relu", [g.conv_bn("input", 1, 16, 3, 1, 1)])
    x = basic_block(g, x, 16, 16, 1, False)
    x = basic_block(g, x, 16, 32, 2, False)
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    fc = g.op("Gemm", [x, g.constant("fc_w", rng.normal(0, 0.1, (10, 32)).astype(np.float32)),
                      g.constant("fc_b", np.zeros(10, np.float32))], transB=1)
    g.save(path, [1, 28, 28], fc, 10)


def depthwise_block(path):
    """MobileNetV2's inverted residual: expand, ReLU6 (Clip), depthwise, ReLU6, project, Add;
    then Reshape to [N, features] and MatMul + Add."""
    g = Graph()
    low, high = g.constant("min", np.float32(0)), g.constant("max", np.float32(6))
    x = g.op("Clip", [g.conv_bn("input", 1, 8, 3, 2, 1), low, high])
    y = g.op("Clip", [g.conv_bn(x, 8, 24, 1), low, high])
    y = g.op("Clip", [g.conv_bn(y, 24, 24, 3, 1, 1, group=24), low, high])
    y = g.conv_bn(y, 24, 8, 1)
    x = g.op("Add", [x, y])
    x = g.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = g.op("Reshape", [x, g.constant("shape", np.array([0, -1], np.int64))])
    x = g.op("MatMul", [x, g.constant("w", rng.normal(0, 0.1, (8 * 7 * 7, 10)).astype(np.float32))])
    out = g.op("Add", [x, g.constant("b", rng.normal(0, 0.1, 10).astype(np.float32))])
    g.save(path, [1, 28, 28], out, 10)


def fire_net(path):
    """SqueezeNet-style: a stem, two fire modules (1×1 squeeze, then 1×1 and 3×3 expansions
    joined by Concat), global pooling and a classifier."""
    g = Graph()
    x = g.op("MaxPool", [g.op("Relu", [g.conv_bn("input", 1, 16, 3, 1, 1)])], kernel_shape=[2, 2], strides=[2, 2])
    channels = 16
    for squeeze, expand in [(8, 16), (8, 24)]:
        s = g.op("Relu", [g.conv(x, channels, squeeze, 1, bias=True)])
        a = g.op("Relu", [g.conv_bn(s, squeeze, expand, 1)])
        b = g.op("Relu", [g.conv_bn(s, squeeze, expand, 3, 1, 1)])
        x = g.op("Concat", [a, b], axis=1)
        channels = 2 * expand
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    fc = g.op("Gemm", [x, g.constant("fc_w", rng.normal(0, 0.1, (10, channels)).astype(np.float32)),
                      g.constant("fc_b", np.zeros(10, np.float32))], transB=1)
    g.save(path, [1, 28, 28], fc, 10)


def sigmoid(path):
    g = Graph()
    x = g.op("Sigmoid", [g.conv("input", 1, 4, 3, 1, 1)], node_name="squash")
    x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
    fc = g.op("Gemm", [x, g.constant("fc_w", rng.normal(0, 0.1, (10, 4)).astype(np.float32))], transB=1)
    g.save(path, [1, 28, 28], fc, 10)


def logits(path, inputs):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": inputs})[0]


def round_trip(path, shape, tolerance):
    """Imports `path`, exports it again and compares the two graphs' logits."""
    weights, again = path.with_suffix(".safetensors"), path.with_name(path.stem + "-again.onnx")
    out = run(binary, "import", str(path), "--out", str(weights))
    run(binary, "export", "--weights", str(weights), "--out", str(again))
    inputs = rng.normal(0, 1, (2, *shape)).astype(np.float32)
    a, b = logits(path, inputs), logits(again, inputs)
    worst = float(np.abs(a - b).max()) / max(1e-6, float(np.abs(a).max()))
    print(f"{path.name}: imported ({out.strip().splitlines()[-1]}); re-exported logits differ by {worst:.1e} (relative)")
    if worst > tolerance:
        failures.append(f"{path.name}: imported and exported again, the logits differ by {worst} (relative)")
    return out


for fold in (False, True):
    path = work / f"resnet18{'-folded' if fold else ''}.onnx"
    total = resnet18(path, fold)
    # BatchNorm's running mean and variance are state, not parameters.
    running = 0 if fold else sum(2 * c for c in [64] + [64] * 4 + [128] * 5 + [256] * 5 + [512] * 5)
    out = round_trip(path, (3, 64, 64), 1e-4)
    stated = int(re.search(r"(\d+) parameters", out).group(1))
    if stated != total - running:
        failures.append(f"{path.name}: imported with {stated} parameters, the graph holds {total - running}")

for name, writer in [("small-cnn", small_cnn), ("depthwise-block", depthwise_block), ("fire-net", fire_net)]:
    path = work / f"{name}.onnx"
    writer(path)
    round_trip(path, (1, 28, 28), 1e-5)

sigmoid(work / "sigmoid.onnx")
refused = subprocess.run([binary, "import", str(work / "sigmoid.onnx"), "--out", str(work / "sigmoid.safetensors")], capture_output=True, text=True)
message = refused.stderr.strip()
print(f"sigmoid.onnx: {message}")
if refused.returncode == 0 or "squash" not in message or "Sigmoid" not in message or "\n" in message:
    failures.append(f"a Sigmoid graph should be refused in one line naming node squash: {message!r}")

# The small CNN and the fire-module net, pruned on Fashion-MNIST, thinned, run by onnxruntime.
common = ["--data", "bundled", "--prune-epochs", "2", "--finetune-epochs", "1", "--no-run-dir", "--quiet"]
budgets = [("sparse", ["--target-sparsity", "0.9"]), ("units", ["--granularity", "unit", "--target-flops-reduction", "0.5"])]
for (net, label), flags in [((net, label), flags) for net in ("small-cnn", "fire-net") for label, flags in budgets]:
    weights = work / f"{net}.safetensors"
    pruned, thin, evaluated = (work / f"{net}-{label}{suffix}" for suffix in (".safetensors", ".onnx", "-logits.safetensors"))
    print(run(binary, "prune", "--weights", str(weights), *common, *flags, "--out", str(pruned)).strip().splitlines()[-1])
    print(run(binary, "export", "--weights", str(pruned), "--thin", "--out", str(thin)).strip())
    run(binary, "eval", "--weights", str(pruned), "--data", "bundled", "--thin", "--logits-out", str(evaluated))
    expected = load_file(str(evaluated))
    got = logits(thin, expected["inputs"])
    worst = float(np.abs(got - expected["logits"]).max())
    agree = float((got.argmax(1) == expected["logits"].argmax(1)).mean())
    print(f"{net}-{label}: onnxruntime vs autoprune eval --thin: max |Δ| {worst:.1e}, same class for {100 * agree:.1f}%")
    if worst > 1e-4:
        failures.append(f"{net}-{label}: the thinned ONNX's logits differ from autoprune's by {worst}")

finish(failures, "ONNX import")
