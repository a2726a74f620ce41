import AutoPrune
import AutoPruneNN
import AutoPruneONNX
import Foundation
import ONNXProto
import XCTest

/// The exported graph read back: the layers in order as ONNX operators with PyTorch's attributes,
/// masked weights as raw float32 initializers. (onnxruntime runs it in interop/check_onnx.py.)
final class ONNXExportTests: XCTestCase {
  func testLeNet5ExportsItsLayersAndMaskedWeights() throws {
    let model = Model(.lenet5, rng: RandomSource(seed: 1))
    MagnitudePruning(model: model).prune(toSparsity: 0.9, scope: .global)
    let proto = try ONNXExport.model(network: model.network, inputShape: model.inputShape, normalization: Normalization(mean: 0.3, std: 0.4), name: "t")
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString).onnx").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try ONNXExport.write(proto, to: path)
    let read = try Onnx_ModelProto(serializedBytes: Data(contentsOf: URL(fileURLWithPath: path)))
    XCTAssertEqual(read.opsetImport.first?.version, 13)
    XCTAssertEqual(read.graph.node.map(\.opType), ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm"])
    XCTAssertEqual(read.graph.node.last?.output, ["logits"])
    XCTAssertEqual(read.graph.input.first?.type.tensorType.shape.dim.map(\.dimParam), ["N", "", "", ""])
    XCTAssertEqual(read.graph.output.first?.type.tensorType.shape.dim.last?.dimValue, 10)
    let gemm = read.graph.node[7]
    XCTAssertEqual(gemm.attribute.first { $0.name == "transB" }?.i, 1)
    XCTAssertEqual(read.graph.node[0].attribute.first { $0.name == "kernel_shape" }?.ints, [5, 5])
    let fc1 = try XCTUnwrap(read.graph.initializer.first { $0.name == "fc1.weight" })
    XCTAssertEqual(fc1.dims, [500, 800])
    let values = fc1.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    XCTAssertEqual(values, model.parameter(named: "fc1.weight")!.effective.storage)
    XCTAssertEqual(read.metadataProps.first { $0.key == "normalization_std" }?.value, "0.4")
  }

  func testThinnedLeNet300ExportsItsInputSelectionAsGather() throws {
    let model = Model(.lenet300, rng: RandomSource(seed: 2))
    let pruning = MagnitudePruning(model: model)
    var mask = Tensor(shape: [300, 784], repeating: 1)
    for r in 0..<300 { for c in 0..<100 { mask[r * 784 + c] = 0 } }
    pruning.gates[0].setMask(mask)
    let thinned = try Thinning.thin(model)
    let proto = try ONNXExport.model(network: thinned.network, inputShape: model.inputShape, normalization: Normalization(mean: 0, std: 1), name: "t")
    XCTAssertEqual(proto.graph.node.map(\.opType), ["Flatten", "Gather", "Gemm", "Relu", "Gemm", "Relu", "Gemm"])
    let indices = try XCTUnwrap(proto.graph.initializer.first { $0.name == "select.indices" })
    XCTAssertEqual(indices.int64Data, (100..<784).map(Int64.init))
  }

  /// MobileNetV2's pieces: a depthwise convolution is a Conv with one group per channel, ReLU6 a
  /// Clip with scalar bounds, a 1 × 1 adaptive pooling a GlobalAveragePool. The graph and its
  /// logits are written to `AUTOPRUNE_ONNX_FIXTURES` when set, for onnxruntime to compare.
  func testDepthwiseReLU6AndAdaptivePoolingExport() throws {
    let rng = RandomSource(seed: 3)
    let model = Model(network: Sequential([
      ("conv", Conv2D(1, 8, kernelSize: 3, stride: 2, padding: 1, rng: rng)), ("relu6", ReLU6()),
      ("dw", DepthwiseConv2D(channels: 8, kernelSize: 3, stride: 2, padding: 1, rng: rng)), ("relu6b", ReLU6()),
      ("pool", AdaptiveAvgPool2D(1, 1)), ("flatten", Flatten()), ("fc", Dense(8, 10, rng: rng)),
    ]), inputShape: [1, 28, 28], name: "mobile-bits")
    let proto = try ONNXExport.model(network: model.network, inputShape: model.inputShape, normalization: Normalization(mean: 0, std: 1), name: "t")
    XCTAssertEqual(proto.graph.node.map(\.opType), ["Conv", "Clip", "Conv", "Clip", "GlobalAveragePool", "Flatten", "Gemm"])
    XCTAssertEqual(proto.graph.node[2].attribute.first { $0.name == "group" }?.i, 8)
    XCTAssertEqual(proto.graph.initializer.first { $0.name == "dw.weight" }?.dims, [8, 1, 3, 3])
    let bound = try XCTUnwrap(proto.graph.initializer.first { $0.name == "relu6.max" })
    XCTAssertEqual(bound.dims, [], "a scalar")
    XCTAssertEqual(bound.floatData, [6])
    guard let directory = ProcessInfo.processInfo.environment["AUTOPRUNE_ONNX_FIXTURES"] else { return }
    let input = Tensor(shape: [3, 1, 28, 28], values: (0..<(3 * 784)).map { _ in rng.uniform(-3, 3) })
    let logits = model.network.forward(input, context: .inference)
    try ONNXExport.write(proto, to: directory + "/mobile-bits.onnx")
    try SafeTensors.write([("inputs", input.shape, input.storage), ("logits", logits.shape, logits.storage)], metadata: [:], to: directory + "/mobile-bits.safetensors")
  }

  /// All four ImageNet networks with random BatchNorm statistics — ResNet-18, ResNet-50 and
  /// MobileNetV2 (width 0.35) at 32 × 32 with ImageNet stems, ResNet-18 and MobileNetV2 with the
  /// small-image stems, AlexNet at 224 (its adaptive pooling needs 6 × 6 there) — written with
  /// their logits for onnxruntime when `AUTOPRUNE_ONNX_FIXTURES` is set (the interop check).
  func testImageNetNetworksExport() throws {
    let rng = RandomSource(seed: 4)
    let models: [(String, Model)] = [
      ("resnet18", ImageNetModels.resnet(depth: 18, classes: 10, inputSize: 32, adaptStem: false, rng: rng)),
      ("resnet50", ImageNetModels.resnet(depth: 50, classes: 10, inputSize: 32, adaptStem: false, rng: rng)),
      ("mobilenetv2", ImageNetModels.mobilenetV2(width: 0.35, classes: 10, inputSize: 32, adaptStem: false, rng: rng)),
      ("resnet18-small-stem", ImageNetModels.resnet(depth: 18, classes: 10, inputSize: 32, rng: rng)),
      ("mobilenetv2-small-stem", ImageNetModels.mobilenetV2(width: 0.35, classes: 10, inputSize: 48, rng: rng)),
      ("alexnet", ImageNetModels.alexnet(classes: 10, inputSize: 224, rng: rng)),
    ]
    for (label, model) in models {
      for buffer in model.buffers where buffer.name.hasSuffix("running_var") {
        buffer.value = Tensor(shape: buffer.value.shape, values: (0..<buffer.value.count).map { _ in rng.uniform(0.5, 2) })
      }
      for buffer in model.buffers where buffer.name.hasSuffix("running_mean") {
        buffer.value = Tensor(shape: buffer.value.shape, values: (0..<buffer.value.count).map { _ in rng.uniform(-0.2, 0.2) })
      }
      let proto = try ONNXExport.model(network: model.network, inputShape: model.inputShape, normalization: Normalization(mean: 0, std: 1), name: model.name)
      XCTAssertEqual(proto.graph.initializer.filter { $0.name.hasSuffix(".weight") }.count, model.parameters.filter { $0.name.hasSuffix(".weight") }.count, model.name)
      guard let directory = ProcessInfo.processInfo.environment["AUTOPRUNE_ONNX_FIXTURES"] else { continue }
      let input = Tensor(shape: [2] + model.inputShape, values: (0..<(2 * model.inputShape.reduce(1, *))).map { _ in rng.uniform(-1, 1) })
      let logits = model.network.forward(input, context: .inference)
      try ONNXExport.write(proto, to: "\(directory)/\(label).onnx")
      try SafeTensors.write([("inputs", input.shape, input.storage), ("logits", logits.shape, logits.storage)], metadata: [:], to: "\(directory)/\(label).safetensors")
    }
  }

  /// AlexNet's adaptive pooling exports as a plain average pool where the sizes divide (at 224 it
  /// is a 1 × 1 window); where they do not, the export is refused by name.
  func testAlexNetsAdaptivePoolingExportsWhereTheSizesDivide() throws {
    let rng = RandomSource(seed: 5)
    let alexnet = ImageNetModels.alexnet(classes: 10, inputSize: 224, rng: rng)
    let proto = try ONNXExport.model(network: alexnet.network, inputShape: alexnet.inputShape, normalization: Normalization(mean: 0, std: 1), name: "alexnet")
    let pool = try XCTUnwrap(proto.graph.node.first { $0.name == "avgpool" })
    XCTAssertEqual(pool.opType, "AveragePool")
    XCTAssertEqual(pool.attribute.first { $0.name == "kernel_shape" }?.ints, [1, 1])
    XCTAssertEqual(proto.graph.output.first?.type.tensorType.shape.dim.last?.dimValue, 10)
    let odd = ImageNetModels.alexnet(classes: 10, inputSize: 100, rng: rng)  // 2 × 2 before the pooling to 6 × 6
    XCTAssertThrowsError(try ONNXExport.model(network: odd.network, inputShape: odd.inputShape, normalization: Normalization(mean: 0, std: 1), name: "a")) {
      XCTAssertEqual($0 as? ONNXExportError, .unsupportedLayer("avgpool"))
    }
  }
}
