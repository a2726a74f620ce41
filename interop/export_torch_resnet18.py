"""Writes a ResNet-18 of torchvision's layout (random weights, eval mode) with torch.onnx.export,
then checks `autoprune import` on it: the same parameter count as the torch module and, after
`autoprune export`, onnxruntime logits within 1e-4 of torch's. Needs a CPU torch wheel (not
part of CI; run it by hand in a venv with torch, onnx, onnxruntime and numpy):

    python interop/export_torch_resnet18.py AUTOPRUNE_BINARY WORK_DIRECTORY [--dynamo]

The module is written out here (torchvision is not needed)."""
import pathlib
import re
import sys

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from common import finish, run


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


binary, work = sys.argv[1], pathlib.Path(sys.argv[2])
dynamo = "--dynamo" in sys.argv
work.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
model = ResNet18().eval()
with torch.no_grad():  # trained-looking BatchNorm statistics, so folding them shows
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2)
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.1, 0.1)
path = work / "torch-resnet18.onnx"
example = torch.randn(2, 3, 64, 64)
if dynamo:  # its own opset (18); the weights go to torch-resnet18.onnx.data beside the model
    torch.onnx.export(model, (example,), str(path), input_names=["input"], output_names=["logits"],
                      dynamic_shapes=({0: torch.export.Dim("N")},), opset_version=18, dynamo=True)
else:
    torch.onnx.export(model, (example,), str(path), input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17, dynamo=False)
parameters = sum(p.numel() for p in model.parameters())
weights, again = work / "torch-resnet18.safetensors", work / "torch-resnet18-again.onnx"
out = run(binary, "import", str(path), "--out", str(weights), "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225")
print(out.strip())
run(binary, "export", "--weights", str(weights), "--out", str(again))
failures = []
stated = int(re.search(r"(\d+) parameters", out).group(1))
# torch.onnx.export folds each BatchNorm into the convolution before it (eval mode): a
# bias-free convolution and its BatchNorm's γ and β become a convolution with a bias.
folded = sum(m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d))
if stated not in (parameters, parameters - folded):
    failures.append(f"imported with {stated} parameters; the torch module has {parameters} ({parameters - folded} with BatchNorm folded)")
inputs = np.random.default_rng(1).normal(0, 1, (4, 3, 64, 64)).astype(np.float32)
with torch.no_grad():
    expected = model(torch.from_numpy(inputs)).numpy()
got = ort.InferenceSession(str(again), providers=["CPUExecutionProvider"]).run(None, {"input": inputs})[0]
worst = float(np.abs(got - expected).max()) / float(np.abs(expected).max())
print(f"torch {torch.__version__} ({'dynamo' if dynamo else 'TorchScript'} exporter): {parameters} parameters, imported {stated}; "
      f"autoprune's export vs torch logits: {worst:.1e} (relative)")
if worst > 1e-4:
    failures.append(f"logits differ from torch's by {worst} (relative)")
finish(failures, "torch ResNet-18 import")
