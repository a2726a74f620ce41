"""onnxruntime on the graphs the Swift tests export for the ImageNet networks (random weights, small inputs)
(layers of the ImageNet networks: depthwise convolution, ReLU6, adaptive pooling): each
NAME.onnx beside NAME.safetensors (inputs, logits) in the directory given must reproduce the
logits."""
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
finish(failures, "exported test graphs")
