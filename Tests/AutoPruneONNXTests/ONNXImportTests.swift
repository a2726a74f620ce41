import AutoPrune
import AutoPruneNN
import AutoPruneONNX
import Foundation
import ONNXProto
import XCTest

/// Importing ONNX: every network the tool exports comes back with the same logits, layers and
/// parameter count; hand-written graphs check the operators' translations; hostile files are
/// refused in one line naming the node. With `AUTOPRUNE_ONNX_FIXTURES` set, the round trips are
/// written for onnxruntime (scripts/interop.sh).
final class ONNXImportTests: XCTestCase {
  /// `model` exported and imported again.
  static func roundTrip(_ model: Model) throws -> ONNXImport.Imported {
    let proto = try ONNXExport.model(network: model.network, inputShape: model.inputShape, normalization: Normalization(mean: 0.25, std: 0.5), name: model.name)
    return try ONNXImport.model(from: proto.serializedData(), name: model.name)
  }

  /// Largest |a − b| over the largest |a|.
  static func relativeDifference(_ a: Tensor, _ b: Tensor) -> Float {
    let scale = max(1e-6, a.storage.map(abs).max() ?? 0)
    return (zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? .infinity) / scale
  }

  /// Random BatchNorm statistics, so a layer that mistranslates them shows in the logits.
  static func randomizeStatistics(_ model: Model, rng: RandomSource) {
    for buffer in model.buffers {
      let (low, high): (Float, Float) = buffer.name.hasSuffix("running_var") ? (0.5, 2) : (-0.2, 0.2)
      buffer.value = Tensor(shape: buffer.value.shape, values: (0..<buffer.value.count).map { _ in rng.uniform(low, high) })
    }
  }

  func testEveryBuiltInNetworkRoundTripsWithTheSameLogits() throws {
    let rng = RandomSource(seed: 11)
    let models: [Model] = [
      Model(.lenet300, rng: rng), Model(.lenet5, rng: rng), Model(.vggLike, rng: rng, width: 0.25), Model(.resnet20, rng: rng),
      Model(.resnet18, rng: rng, inputSize: 32, classes: 10), Model(.mobilenetv2, rng: rng, width: 0.35, inputSize: 32, classes: 10),
      ImageNetModels.resnet(depth: 50, classes: 10, inputSize: 32, adaptStem: false, rng: rng),
      Model(network: Sequential([  // SqueezeNet's fire module and a DenseNet layer: Concat nodes
        ("squeeze", Conv2D(1, 4, kernelSize: 1, rng: rng)), ("relu", ReLU()),
        ("fire", Concatenation([("e1", [("conv", Conv2D(4, 3, kernelSize: 1, bias: false, rng: rng)), ("bn", BatchNorm2D(3))]),
                                ("e3", [("conv", Conv2D(4, 5, kernelSize: 3, padding: 1, rng: rng)), ("relu", ReLU())])])),
        ("dense", Concatenation([("x", []), ("new", [("conv", Conv2D(8, 2, kernelSize: 3, padding: 1, rng: rng))])])),
        ("pool", AdaptiveAvgPool2D(1, 1)), ("flatten", Flatten()), ("fc", Dense(10, 10, rng: rng)),
      ]), inputShape: [1, 8, 8], name: "concatenations"),
    ]
    for model in models {
      ONNXImportTests.randomizeStatistics(model, rng: rng)
      let imported = try ONNXImportTests.roundTrip(model)
      XCTAssertEqual(imported.model.parameterCount, model.parameterCount, model.name)
      XCTAssertEqual(imported.model.inputShape, model.inputShape, model.name)
      XCTAssertEqual(imported.normalization?.std, 0.5)
      let x = Tensor(shape: [2] + model.inputShape, values: (0..<(2 * model.inputShape.reduce(1, *))).map { _ in rng.uniform(-1, 1) })
      let expected = model.network.forward(x, context: .inference), got = imported.model.network.forward(x, context: .inference)
      XCTAssertEqual(got.shape, expected.shape, model.name)
      XCTAssertLessThan(ONNXImportTests.relativeDifference(expected, got), 1e-5, model.name)
      // The imported network's architecture survives its JSON form.
      let architecture = try NetworkArchitecture(describing: imported.model.network)
      XCTAssertEqual(try NetworkArchitecture(json: architecture.json), architecture, model.name)
      XCTAssertEqual(architecture.parameterCount, model.parameterCount, model.name)
      // For onnxruntime (interop): the export and the export of the import, with the logits.
      guard let directory = ProcessInfo.processInfo.environment["AUTOPRUNE_ONNX_FIXTURES"] else { continue }
      let normalization = Normalization(mean: 0, std: 1)
      for (suffix, source) in [("", model), ("-reexported", imported.model)] {
        let proto = try ONNXExport.model(network: source.network, inputShape: source.inputShape, normalization: normalization, name: source.name)
        try ONNXExport.write(proto, to: "\(directory)/import-\(model.name)\(suffix).onnx")
        try SafeTensors.write([("inputs", x.shape, x.storage), ("logits", expected.shape, expected.storage)], metadata: [:],
                              to: "\(directory)/import-\(model.name)\(suffix).safetensors")
      }
    }
  }

  /// A thinned LeNet-300-100 exports its input selection as a Gather, which imports as
  /// SelectFeatures: the same logits from the smaller network.
  func testAThinnedExportImports() throws {
    let model = Model(.lenet300, rng: RandomSource(seed: 12))
    MagnitudePruning(model: model).prune(toSparsity: 0.95, scope: .global)
    let thinned = try Thinning.thin(model)
    let thin = Model(network: thinned.network, inputShape: thinned.inputShape, name: "thin")
    let imported = try ONNXImportTests.roundTrip(thin)
    XCTAssertTrue(imported.model.network.layers.contains { $0.layer is SelectFeatures })
    let x = Tensor(shape: [3, 1, 28, 28], values: (0..<(3 * 784)).map { Float($0 % 17) / 17 })
    XCTAssertLessThan(ONNXImportTests.relativeDifference(model.network(x), imported.model.network(x)), 1e-5)
  }

  // MARK: - Hand-written graphs

  /// A graph of `nodes` over an input of `dims` (`-1`: symbolic), with float initializers.
  static func graph(
    _ nodes: [Onnx_NodeProto], initializers: [(String, [Int], [Float])] = [], input: [Int] = [-1, 1, 4, 4], inputs: [String] = ["x"],
    output: String = "y", opset: Int64 = 13
  ) throws -> Data {
    var graph = Onnx_GraphProto()
    graph.node = nodes
    graph.initializer = initializers.map { name, dims, values in
      var t = Onnx_TensorProto()
      t.name = name
      t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
      t.dims = dims.map(Int64.init)
      t.floatData = values
      return t
    }
    graph.input = inputs.map { name in
      var info = Onnx_ValueInfoProto()
      info.name = name
      var type = Onnx_TypeProto.Tensor()
      type.elemType = 1
      var shape = Onnx_TensorShapeProto()
      shape.dim = input.map { d in
        var dim = Onnx_TensorShapeProto.Dimension()
        if d < 0 { dim.dimParam = "N" } else { dim.dimValue = Int64(d) }
        return dim
      }
      type.shape = shape
      info.type.tensorType = type
      return info
    }
    var out = Onnx_ValueInfoProto()
    out.name = output
    graph.output = [out]
    var model = Onnx_ModelProto()
    model.irVersion = 7
    model.graph = graph
    var set = Onnx_OperatorSetIdProto()
    set.version = opset
    model.opsetImport = [set]
    return try model.serializedData()
  }

  static func node(_ op: String, _ inputs: [String], _ output: String, ints: [String: [Int64]] = [:], int: [String: Int64] = [:], float: [String: Float] = [:]) -> Onnx_NodeProto {
    var n = Onnx_NodeProto()
    n.opType = op
    n.name = output
    n.input = inputs
    n.output = [output]
    for (name, values) in ints { var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = values; n.attribute.append(a) }
    for (name, value) in int { var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = value; n.attribute.append(a) }
    for (name, value) in float { var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = value; n.attribute.append(a) }
    return n
  }

  /// Gemm with transB 0, alpha and beta, and MatMul + Add, worked by hand: y = α·x·B + β·C.
  func testGemmAndMatMulAddComputeWhatONNXSays() throws {
    let b: [Float] = [1, 2, 3, 4, 5, 6]  // [in 3, out 2]: rows (1, 2), (3, 4), (5, 6)
    let gemm = try ONNXImportTests.graph(
      [ONNXImportTests.node("Gemm", ["x", "B", "C"], "y", float: ["alpha": 2, "beta": 0.5])],
      initializers: [("B", [3, 2], b), ("C", [2], [10, 20])], input: [-1, 3], output: "y")
    let imported = try ONNXImport.model(from: gemm, name: "gemm", inputShape: [3, 1, 1])
    let x = Tensor(shape: [1, 3, 1, 1], values: [1, 1, 2])
    // x·B = (1 + 3 + 10, 2 + 4 + 12) = (14, 18); ×2 + 0.5·(10, 20) = (33, 46)
    XCTAssertEqual(imported.model.network(x).storage, [33, 46])
    let matMul = try ONNXImportTests.graph(
      [ONNXImportTests.node("MatMul", ["x", "B"], "h"), ONNXImportTests.node("Add", ["h", "C"], "y")],
      initializers: [("B", [3, 2], b), ("C", [2], [10, 20])], input: [-1, 3], output: "y")
    XCTAssertEqual(try ONNXImport.model(from: matMul, name: "mm", inputShape: [3, 1, 1]).model.network(x).storage, [24, 38])
  }

  /// A residual block whose shortcut is the identity, with Clip(0, 6) and an ONNX momentum.
  func testAResidualBlockWithIdentityShortcut() throws {
    let weight = (0..<9).map { Float($0) / 9 }
    let nodes = [
      ONNXImportTests.node("Relu", ["x"], "a"),
      ONNXImportTests.node("Conv", ["a", "W"], "c", ints: ["kernel_shape": [3, 3], "pads": [1, 1, 1, 1]]),
      ONNXImportTests.node("Add", ["c", "a"], "s"),
      {
        var clip = ONNXImportTests.node("Clip", ["s", "lo", "hi"], "r")
        clip.name = "clip"
        return clip
      }(),
      ONNXImportTests.node("Flatten", ["r"], "y"),
    ]
    let data = try ONNXImportTests.graph(nodes, initializers: [("W", [1, 1, 3, 3], weight), ("lo", [], [0]), ("hi", [], [6])], output: "y")
    let imported = try ONNXImport.model(from: data, name: "block")
    let residual = try XCTUnwrap(imported.model.network.layers.compactMap { $0.layer as? Residual }.first)
    XCTAssertNil(residual.shortcut)
    XCTAssertTrue(imported.model.network.layers.contains { $0.layer is ReLU6 })
    let x = Tensor(shape: [1, 1, 4, 4], values: (0..<16).map { Float($0) - 4 })
    let y = imported.model.network(x)
    // Corner (0, 0): relu(x) = 0 there; the conv sums w[4..8] over relu(x) at (0,0),(0,1),(1,0),(1,1) = 0, 0, 0, 1.
    let a = x.storage.map { max(0, $0) }
    let corner = weight[4] * a[0] + weight[5] * a[1] + weight[7] * a[4] + weight[8] * a[5] + a[0]
    XCTAssertEqual(y.storage[0], min(6, max(0, corner)), accuracy: 1e-6)
  }

  /// ReduceMean over the plane (PyTorch's dynamo exporter's adaptive pooling) with axes as an
  /// input (opset 18) or an attribute (earlier): the mean of each channel.
  func testReduceMeanOverThePlaneIsAGlobalAverage() throws {
    var axes = Onnx_TensorProto()
    axes.name = "axes"
    axes.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
    axes.dims = [2]
    axes.int64Data = [-1, -2]
    var opset18 = try Onnx_ModelProto(serializedBytes: ONNXImportTests.graph(
      [ONNXImportTests.node("ReduceMean", ["x", "axes"], "m", int: ["keepdims": 0])], output: "m", opset: 18))
    opset18.graph.initializer.append(axes)
    let x = Tensor(shape: [1, 1, 4, 4], values: (0..<16).map(Float.init))
    XCTAssertEqual(try ONNXImport.model(from: opset18.serializedData(), name: "m").model.network(x).storage, [7.5])
    let opset13 = try ONNXImportTests.graph(
      [ONNXImportTests.node("ReduceMean", ["x"], "m", ints: ["axes": [2, 3]]), ONNXImportTests.node("Flatten", ["m"], "y")])
    XCTAssertEqual(try ONNXImport.model(from: opset13, name: "m").model.network(x).storage, [7.5])
    let channels = try ONNXImportTests.graph([ONNXImportTests.node("ReduceMean", ["x"], "m", ints: ["axes": [1]]), ONNXImportTests.node("Flatten", ["m"], "y")])
    assertRefused(channels, mentioning: ["node m (ReduceMean)", "axes [1]"])
  }

  /// Weights kept in a file beside the model (what PyTorch's exporter writes by default) are
  /// read from the model's directory, and only from there.
  func testExternalDataIsReadFromBesideTheModel() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-external-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let weights: [Float] = [0, 2, 0.5]  // 4 bytes of padding, then w = 2, b = 0.5
    try weights.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: directory.appendingPathComponent("m.onnx.data"))
    func graph(location: String) throws -> Data {
      var model = try Onnx_ModelProto(serializedBytes: ONNXImportTests.graph(
        [ONNXImportTests.node("Conv", ["x", "W", "B"], "c"), ONNXImportTests.node("Flatten", ["c"], "y")], input: [-1, 1, 1, 1]))
      for (name, offset) in [("W", 4), ("B", 8)] {
        var t = Onnx_TensorProto()
        t.name = name
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.dims = name == "W" ? [1, 1, 1, 1] : [1]
        t.dataLocation = .external
        t.externalData = [("location", location), ("offset", "\(offset)"), ("length", "4")].map { key, value in
          var entry = Onnx_StringStringEntryProto()
          (entry.key, entry.value) = (key, value)
          return entry
        }
        model.graph.initializer.append(t)
      }
      return try model.serializedData()
    }
    let imported = try ONNXImport.model(from: graph(location: "m.onnx.data"), name: "m", directory: directory)
    XCTAssertEqual(imported.model.network(Tensor(shape: [1, 1, 1, 1], values: [3])).storage, [6.5])
    assertRefused(try graph(location: "m.onnx.data"), mentioning: ["external file", "without its directory"])
    XCTAssertThrowsError(try ONNXImport.model(from: graph(location: "../m.onnx.data"), name: "m", directory: directory)) {
      XCTAssertTrue("\($0)".contains("not inside the model's directory"), "\($0)")
    }
    // A link inside the directory to a file outside it, and a FIFO (it would block): refused.
    let outside = directory.deletingLastPathComponent().appendingPathComponent("outside-\(UUID().uuidString).data")
    try FileManager.default.copyItem(at: directory.appendingPathComponent("m.onnx.data"), to: outside)
    defer { try? FileManager.default.removeItem(at: outside) }
    try FileManager.default.createSymbolicLink(at: directory.appendingPathComponent("link.data"), withDestinationURL: outside)
    XCTAssertThrowsError(try ONNXImport.model(from: graph(location: "link.data"), name: "m", directory: directory)) {
      XCTAssertTrue("\($0)".contains("not inside the model's directory"), "\($0)")
    }
    XCTAssertEqual(mkfifo(directory.appendingPathComponent("fifo").path, 0o600), 0)
    XCTAssertThrowsError(try ONNXImport.model(from: graph(location: "fifo"), name: "m", directory: directory)) {
      XCTAssertTrue("\($0)".contains("not a readable regular file"), "\($0)")
    }
  }

  // MARK: - Refusals

  func assertRefused(_ data: Data, inputShape: [Int]? = nil, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try ONNXImport.model(from: data, name: "bad", inputShape: inputShape), file: file, line: line) { error in
      let text = "\(error)"
      XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
      for word in words { XCTAssertTrue(text.contains(word), "\(text) should mention \(word)", file: file, line: line) }
    }
  }

  func testUnsupportedOperatorsAreRefusedByNodeAndOperator() throws {
    let data = try ONNXImportTests.graph([ONNXImportTests.node("Sigmoid", ["x"], "y")])
    assertRefused(data, mentioning: ["node y", "Sigmoid", "not supported", "Conv, Gemm"])
    let grouped = try ONNXImportTests.graph(
      [ONNXImportTests.node("Conv", ["x", "W"], "c", int: ["group": 2]), ONNXImportTests.node("Flatten", ["c"], "y")],
      initializers: [("W", [4, 1, 1, 1], [1, 1, 1, 1])], input: [-1, 2, 4, 4])
    assertRefused(grouped, mentioning: ["node c (Conv)", "2 groups"])
    let clip = try ONNXImportTests.graph(
      [ONNXImportTests.node("Clip", ["x", "lo", "hi"], "c"), ONNXImportTests.node("Flatten", ["c"], "y")], initializers: [("lo", [], [0]), ("hi", [], [1])])
    assertRefused(clip, mentioning: ["node c (Clip)", "[0.0, 1.0]"])
    let dilated = try ONNXImportTests.graph(
      [ONNXImportTests.node("Conv", ["x", "W"], "c", ints: ["dilations": [2, 2]]), ONNXImportTests.node("Flatten", ["c"], "y")],
      initializers: [("W", [1, 1, 1, 1], [1])])
    assertRefused(dilated, mentioning: ["node c (Conv)", "dilations"])
    let reshape = try ONNXImportTests.graph([
      ONNXImportTests.node("Reshape", ["x", "s"], "y"),
    ], initializers: [("s", [3], [1, 4, 4])])
    assertRefused(reshape, mentioning: ["node y (Reshape)"])
  }

  func testMalformedAndIncompleteGraphsAreRefused() throws {
    assertRefused(Data([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]), mentioning: ["not an ONNX model"])
    assertRefused(Data(), mentioning: ["not an ONNX model"])
    let missing = try ONNXImportTests.graph([ONNXImportTests.node("Conv", ["x", "W"], "c"), ONNXImportTests.node("Flatten", ["c"], "y")])
    assertRefused(missing, mentioning: ["node c (Conv)", "input W", "missing initializer"])
    let cycle = try ONNXImportTests.graph([
      ONNXImportTests.node("Add", ["x", "b"], "a"), ONNXImportTests.node("Relu", ["a"], "b"), ONNXImportTests.node("Flatten", ["b"], "y"),
    ])
    assertRefused(cycle, mentioning: ["cycle"])
    let dynamic = try ONNXImportTests.graph([ONNXImportTests.node("Flatten", ["x"], "y")], input: [-1, 1, -1, -1])
    assertRefused(dynamic, mentioning: ["dynamic shape", "C,H,W"])
    XCTAssertEqual(try ONNXImport.model(from: dynamic, name: "ok", inputShape: [1, 5, 5]).model.inputShape, [1, 5, 5])
    let twoInputs = try ONNXImportTests.graph([ONNXImportTests.node("Add", ["x", "z"], "y")], inputs: ["x", "z"])
    assertRefused(twoInputs, mentioning: ["2 inputs"])
    let huge = try ONNXImportTests.graph([ONNXImportTests.node("Flatten", ["x"], "y")], input: [-1, 1, 100_000, 100_000])
    assertRefused(huge, mentioning: ["out of bounds"])
    // A Softmax over the batch is not a classifier's: refused, not dropped.
    let batchSoftmax = try ONNXImportTests.graph([ONNXImportTests.node("Flatten", ["x"], "f"), ONNXImportTests.node("Softmax", ["f"], "y", int: ["axis": 0])])
    assertRefused(batchSoftmax, mentioning: ["node y (Softmax)"])
    let lastSoftmax = try ONNXImportTests.graph([ONNXImportTests.node("Flatten", ["x"], "f"), ONNXImportTests.node("Softmax", ["f"], "y")])
    XCTAssertEqual(try ONNXImport.model(from: lastSoftmax, name: "ok").notes.count, 1)
    let oldOpset = try ONNXImportTests.graph([ONNXImportTests.node("Flatten", ["x"], "y")], opset: 3)
    assertRefused(oldOpset, mentioning: ["operator set 3"])
    let branch = try ONNXImportTests.graph([
      ONNXImportTests.node("Relu", ["x"], "a"), ONNXImportTests.node("Flatten", ["a"], "f"), ONNXImportTests.node("Flatten", ["a"], "g"),
      ONNXImportTests.node("Add", ["f", "g"], "y"),
    ])
    // Two Flattens of one tensor added: a "block" whose body and shortcut are both one layer.
    XCTAssertNoThrow(try ONNXImport.model(from: branch, name: "ok"))
    let nan = try ONNXImportTests.graph(
      [ONNXImportTests.node("Conv", ["x", "W"], "c"), ONNXImportTests.node("Flatten", ["c"], "y")], initializers: [("W", [1, 1, 1, 1], [.nan])])
    assertRefused(nan, mentioning: ["weight", "nan"])
  }

  /// A weights file written from an imported network carries its architecture: loaded with
  /// no model named, it computes what the imported network computes.
  func testTheWeightsFileCarriesTheArchitecture() throws {
    let rng = RandomSource(seed: 13)
    let source = Model(.resnet20, rng: rng)
    ONNXImportTests.randomizeStatistics(source, rng: rng)
    let imported = try ONNXImportTests.roundTrip(source).model
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("imported-\(UUID().uuidString).safetensors").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try WeightsFile.save(imported, normalization: Normalization(mean: 0.1, std: 0.2), to: path)
    let (loaded, normalization) = try XCTUnwrap(try WeightsFile.loadModel(path: path, kind: nil))
    XCTAssertNil(loaded.kind)
    XCTAssertEqual(normalization?.std, 0.2)
    let x = Tensor(shape: [2] + loaded.inputShape, values: (0..<(2 * loaded.inputShape.reduce(1, *))).map { _ in rng.uniform(-1, 1) })
    XCTAssertEqual(loaded.network(x).storage, imported.network(x).storage)
  }
}
