import AutoPrune
import AutoPruneNN
import AutoPruneONNX
import Foundation

/// ONNX seeds: tiny graphs the library exports (a residual CNN with BatchNorm, a thinned MLP
/// with its Gather, a depthwise block with ReLU6 and adaptive pooling), and broken copies
/// (cut short, a byte flipped).
enum ONNXSeeds {
  static func write(_ seeds: Seeds) throws {
    let rng = RandomSource(seed: 1)
    let residual = Sequential([
      ("conv", Conv2D(1, 2, kernelSize: 3, padding: 1, bias: false, rng: rng)), ("bn", BatchNorm2D(2)), ("relu", ReLU()),
      ("block", Residual([("conv", Conv2D(2, 2, kernelSize: 3, padding: 1, rng: rng)), ("relu", ReLU())])),
      ("pool", MaxPool2D(2)), ("flatten", Flatten()), ("fc", Dense(8, 3, rng: rng)),
    ])
    let mlp = Sequential([("flatten", Flatten()), ("select", SelectFeatures([0, 2, 5], of: 16)), ("fc", Dense(3, 2, rng: rng))])
    let mobile = Sequential([
      ("dw", DepthwiseConv2D(channels: 1, kernelSize: 3, padding: 1, rng: rng)), ("relu6", ReLU6()), ("pool", AdaptiveAvgPool2D(1, 1)),
      ("flatten", Flatten()), ("fc", Dense(1, 2, rng: rng)),
    ])
    for (name, network) in [("residual-cnn", residual), ("thinned-mlp", mlp), ("depthwise", mobile)] {
      let proto = try ONNXExport.model(network: network, inputShape: [1, 4, 4], normalization: Normalization(mean: 0, std: 1), name: name)
      let path = NSTemporaryDirectory() + "/seed-\(name).onnx"
      try ONNXExport.write(proto, to: path)
      let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
      try? FileManager.default.removeItem(atPath: path)
      try seeds.write("\(name).onnx", bytes)
      try seeds.write("\(name)-cut.onnx", Array(bytes.prefix(bytes.count / 2)))
      try seeds.write("\(name)-flipped.onnx", flipping(bytes, at: bytes.count / 3))
    }
    try seeds.write("empty.onnx", [])
  }
}
