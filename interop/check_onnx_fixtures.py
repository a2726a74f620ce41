"""onnxruntime on the graphs the Swift tests export for the ImageNet networks (random weights, small inputs)
(layers of the ImageNet networks: depthwise convolution, ReLU6, adaptive pooling): each
NAME.onnx beside NAME.safetensors (inputs, logits) in the directory given must reproduce the
logits. NAME-reexported.onnx (NAME.onnx imported and exported again) must give NAME.onnx's
logits within 1e-5."""
import pathlib
import sys

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file

from common import finish

directory = pathlib.Path(sys.argv[1])
failures = []
graphs = sorted(directory.glob("*.onnx"))
if not graphs:
    failures.append(f"no fixtures in {directory}")
for graph in graphs:
    expected = load_file(str(graph.with_suffix(".safetensors")))
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": expected["inputs"]})[0]
    worst = float(np.abs(got - expected["logits"]).max())
    print(f"{graph.name}: max |onnxruntime - ours| = {worst:.2e}")
    if worst > 1e-4:
        failures.append(f"{graph.name}: logits differ by {worst}")
for again in sorted(directory.glob("*-reexported.onnx")):
    original = again.with_name(again.name.replace("-reexported", ""))
    inputs = load_file(str(again.with_suffix(".safetensors")))["inputs"]
    outputs = [ort.InferenceSession(str(g), providers=["CPUExecutionProvider"]).run(None, {"input": inputs})[0] for g in (original, again)]
    scale = max(1e-6, float(np.abs(outputs[0]).max()))
    worst = float(np.abs(outputs[0] - outputs[1]).max()) / scale
    print(f"{original.name} → import → export: max relative difference in onnxruntime {worst:.2e}")
    if worst >= 1e-5:
        failures.append(f"{again.name}: the round trip changes the logits by {worst} (relative)")
finish(failures, "exported test graphs")
