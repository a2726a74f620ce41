import AutoPrune
import AutoPruneNN
import Foundation
import ONNXProto

/// Turns the pieces of an imported graph into layers, front to back, knowing each one's input
/// shape (so a Reshape is checked to be a flatten and a padded window against the image).
struct ONNXLayerBuilder {
  let graph: ONNXGraph
  private let rng = RandomSource(seed: 0)  // layers draw weights, then get the graph's

  init(graph: ONNXGraph) { self.graph = graph }

  /// The layers of `pieces` for input `shape` (updated to their output's); `names` are those
  /// taken at this level, `strip` a prefix left off the names of a block's layers.
  mutating func layers(_ pieces: [ONNXPiece], shape: inout [Int], names: inout Set<String>, strip: String) throws -> [(String, any Layer)] {
    var out: [(String, any Layer)] = []
    for piece in pieces {
      switch piece {
      case .node(let n):
        guard let layer = try layer(n, shape: shape) else { continue }
        out.append((uniqueName(n, names: &names, strip: strip), layer))
        shape = layer.outputShape(for: shape)
      case .matMul(let m, let bias):
        let layer = try dense(matMul: m, bias: bias, shape: shape)
        out.append((uniqueName(m, names: &names, strip: strip), layer))
        shape = layer.outputShape(for: shape)
      case .residual(let add, let body, let shortcut):
        let name = uniqueName(add, names: &names, strip: strip)
        var bodyShape = shape, shortcutShape = shape, inner = Set<String>(), side = Set<String>()
        let bodyLayers = try layers(body, shape: &bodyShape, names: &inner, strip: name + "_")
        let shortcutLayers = try layers(shortcut, shape: &shortcutShape, names: &side, strip: name + "_shortcut_")
        guard bodyShape == shortcutShape else {
          throw ONNXImportError("\(ONNXGraph.label(graph.nodes[add])): adds \(bodyShape) to \(shortcutShape) (broadcasting is not followed)")
        }
        guard !bodyLayers.isEmpty else { throw ONNXImportError("\(ONNXGraph.label(graph.nodes[add])): adds a tensor to a copy of itself") }
        out.append((name, Residual(bodyLayers, shortcut: shortcutLayers.isEmpty ? nil : shortcutLayers, shortcutName: "shortcut")))
        shape = bodyShape
      case .concatenation(let n, let branches):
        let axis = int(n, "axis", 1)
        guard axis == 1 || axis == -shape.count else { throw fail(n, "concatenates along axis \(axis) (only the channels, axis 1)") }
        let name = uniqueName(n, names: &names, strip: strip)
        var built: [(String, [(String, any Layer)])] = [], shapes: [[Int]] = []
        for (b, branch) in branches.enumerated() {
          var branchShape = shape, inner = Set<String>()
          built.append(("branch\(b)", try layers(branch, shape: &branchShape, names: &inner, strip: name + "_")))
          shapes.append(branchShape)
        }
        guard shapes.allSatisfy({ $0.count == shapes[0].count && $0.dropFirst() == shapes[0].dropFirst() }) else {
          throw fail(n, "joins \(shapes), which differ after the channels")
        }
        let join = Concatenation(built)
        out.append((name, join))
        shape = join.outputShape(for: shape)
      }
    }
    return out
  }

  /// A layer name from the node's: characters other than letters, digits and `_` become `_`,
  /// a trailing `_OPERATOR` (PyTorch's `/layer1/conv1/Conv`) and `strip` are left off, and a
  /// name taken gets `_2`, `_3`, ….
  private func uniqueName(_ n: Int, names: inout Set<String>, strip: String) -> String {
    let node = graph.nodes[n]
    var name = String(node.name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    while name.contains("__") { name = name.replacingOccurrences(of: "__", with: "_") }
    name = String(name.drop { $0 == "_" }.reversed().drop { $0 == "_" }.reversed())
    if name.lowercased().hasSuffix("_" + node.opType.lowercased()) { name = String(name.dropLast(node.opType.count + 1)) }
    // A block's layers are named inside it: `layer1_0_conv1` in block `layer1_0` is `conv1`.
    for prefix in [strip, strip.replacingOccurrences(of: "_shortcut_", with: "_")] where !prefix.isEmpty && name.hasPrefix(prefix) && name.count > prefix.count {
      name = String(name.dropFirst(prefix.count))
      break
    }
    if name.isEmpty || name == "shortcut" { name = node.opType.lowercased() }
    name = String(name.prefix(120))
    var candidate = name, k = 2
    while names.contains(candidate) {
      candidate = "\(name)_\(k)"
      k += 1
    }
    names.insert(candidate)
    return candidate
  }

  // MARK: - Attributes

  private func attribute(_ n: Int, _ name: String) -> Onnx_AttributeProto? { graph.nodes[n].attribute.first { $0.name == name } }
  private func int(_ n: Int, _ name: String, _ fallback: Int) -> Int { attribute(n, name).map { Int(clamping: $0.i) } ?? fallback }
  private func float(_ n: Int, _ name: String, _ fallback: Float) -> Float { attribute(n, name).map(\.f) ?? fallback }
  private func ints(_ n: Int, _ name: String) -> [Int]? { attribute(n, name).map { $0.ints.map { Int(clamping: $0) } } }
  private func string(_ n: Int, _ name: String) -> String { attribute(n, name).map { String(decoding: $0.s, as: UTF8.self) } ?? "" }
  private func fail(_ n: Int, _ what: String) -> ONNXImportError { ONNXImportError("\(ONNXGraph.label(graph.nodes[n])): \(what)") }

  /// A 2-D window's side, stride and padding, which must be the same along both axes (the
  /// layers have square windows and even padding); `SAME_*` padding is resolved for `shape`.
  private func window(_ n: Int, kernel given: [Int]?, shape: [Int]) throws -> (kernel: Int, stride: Int, padding: Int) {
    guard shape.count == 3 else { throw fail(n, "needs an image input, gets \(shape)") }
    guard let kernel = given ?? ints(n, "kernel_shape"), kernel.count == 2 else { throw fail(n, "needs a 2-D kernel_shape") }
    guard kernel[0] == kernel[1], kernel[0] > 0 else { throw fail(n, "kernel \(kernel[0])×\(kernel[1]) is not square (square windows only)") }
    let strides = ints(n, "strides") ?? [1, 1]
    guard strides.count == 2, strides[0] == strides[1], strides[0] > 0 else { throw fail(n, "strides \(strides) differ along the axes") }
    if let dilations = ints(n, "dilations"), dilations.contains(where: { $0 != 1 }) { throw fail(n, "dilations \(dilations) (only 1 is supported)") }
    let (k, s) = (kernel[0], strides[0])
    switch string(n, "auto_pad") {
    case "", "NOTSET":
      let pads = ints(n, "pads") ?? [0, 0, 0, 0]
      guard pads.count == 4, Set(pads).count == 1, pads[0] >= 0 else { throw fail(n, "pads \(pads) differ between sides (even padding only)") }
      return (k, s, pads[0])
    case "VALID":
      return (k, s, 0)
    case "SAME_UPPER", "SAME_LOWER":
      // The padding that keeps ceil(side / stride) outputs, when it is the same on every side.
      let totals = [shape[1], shape[2]].map { side in max(0, ((side + s - 1) / s - 1) * s + k - side) }
      guard totals[0] == totals[1], totals[0] % 2 == 0 else { throw fail(n, "auto_pad \(string(n, "auto_pad")) pads unevenly for \(shape[1])×\(shape[2]) images") }
      return (k, s, totals[0] / 2)
    default:
      throw fail(n, "auto_pad \(string(n, "auto_pad")) is not known")
    }
  }

  /// Refuses `ceil_mode` where it would give another output size than flooring does.
  private func checkCeilMode(_ n: Int, shape: [Int], kernel k: Int, stride s: Int, padding p: Int) throws {
    guard int(n, "ceil_mode", 0) != 0 else { return }
    for side in [shape[1], shape[2]] where (side + 2 * p - k) % s != 0 {
      throw fail(n, "ceil_mode 1 gives a partial last window on \(shape[1])×\(shape[2]) images (only floor is supported)")
    }
  }

  // MARK: - Layers

  /// The layer of a one-input node, nil for one that does nothing (Identity).
  private func layer(_ n: Int, shape: [Int]) throws -> (any Layer)? {
    let node = graph.nodes[n]
    switch node.opType {
    case "Conv": return try convolution(n, shape: shape)
    case "Gemm": return try gemm(n, shape: shape)
    case "BatchNormalization": return try batchNorm(n, shape: shape)
    case "Relu": return ReLU()
    case "Clip":
      let (low, high) = try clipBounds(n)
      if low == 0 && high == 6 { return ReLU6() }
      if low == 0 && high == .infinity { return ReLU() }
      throw fail(n, "clips to [\(low), \(high)]; only [0, 6] (ReLU6) and [0, ∞) (ReLU) are supported")
    case "MaxPool":
      let (k, s, p) = try window(n, kernel: nil, shape: shape)
      guard 2 * p <= k else { throw fail(n, "pads \(p) more than half its \(k)-pixel window") }
      if node.output.count > 1, !node.output[1].isEmpty, !(graph.consumers[node.output[1]] ?? []).isEmpty { throw fail(n, "its indices output is used") }
      try checkCeilMode(n, shape: shape, kernel: k, stride: s, padding: p)
      return MaxPool2D(k, stride: s, padding: p)
    case "AveragePool":
      let (k, s, p) = try window(n, kernel: nil, shape: shape)
      guard p == 0 else { throw fail(n, "pads its windows (average pooling without padding only)") }
      try checkCeilMode(n, shape: shape, kernel: k, stride: s, padding: 0)
      return AvgPool2D(k, stride: s)
    case "GlobalAveragePool":
      guard shape.count == 3 else { throw fail(n, "needs an image input, gets \(shape)") }
      return AdaptiveAvgPool2D(1, 1)  // keeps the 1 × 1 plane, as ONNX does
    case "ReduceMean":
      // A mean over the plane (PyTorch's dynamo exporter writes adaptive_avg_pool2d(x, 1) so).
      guard shape.count == 3 else { throw fail(n, "needs an image input, gets \(shape)") }
      let axes = graph.opset >= 18 ? (node.input.count > 1 && !node.input[1].isEmpty ? try graph.constant(n, 1, "axes").integers.map(Int.init) : nil)
        : ints(n, "axes")
      guard let axes, Set(axes.map { $0 < 0 ? $0 + 4 : $0 }) == [2, 3] else { throw fail(n, "averages over axes \(axes ?? []) (only the plane, axes 2 and 3)") }
      return int(n, "keepdims", 1) != 0 ? AdaptiveAvgPool2D(1, 1) : GlobalAvgPool2D()
    case "Flatten":
      let axis = int(n, "axis", 1)
      guard axis == 1 || axis == -shape.count else { throw fail(n, "flattens from axis \(axis) (only 1, keeping the batch)") }
      return shape.count == 1 ? nil : Flatten()
    case "Reshape":
      let target = try graph.constant(n, 1, "target shape").integers
      let features = shape.reduce(1, *)
      let flattens = target.count == 2 && (target[1] == -1 && [0, -1].contains(target[0]) || target[1] == Int64(features) && [0, -1].contains(target[0]))
      guard flattens else { throw fail(n, "reshapes \(shape.map(String.init).joined(separator: "×")) to \(target); only a flatten to [batch, features] is supported") }
      return shape.count == 1 ? nil : Flatten()
    case "Identity": return nil
    case "Dropout":
      let ratio = graph.opset >= 12 ? (node.input.count > 1 && !node.input[1].isEmpty ? try graph.constant(n, 1, "ratio").values.first ?? 0.5 : 0.5)
        : float(n, "ratio", 0.5)
      guard ratio >= 0 && ratio < 1 else { throw fail(n, "drops \(ratio) of its inputs") }
      return ratio > 0 ? Dropout(ratio) : nil
    case "Gather":
      guard int(n, "axis", 0) == 1, shape.count == 1 else { throw fail(n, "gathers along axis \(int(n, "axis", 0)) of \(shape); only features (axis 1 of [N, F]) are supported") }
      let indices = try graph.constant(n, 1, "indices").integers.map { $0 < 0 ? Int($0) + shape[0] : Int($0) }
      guard indices.allSatisfy({ $0 >= 0 && $0 < shape[0] }), !indices.isEmpty else { throw fail(n, "gathers indices outside 0..<\(shape[0])") }
      return SelectFeatures(indices, of: shape[0])
    case "Add": throw fail(n, "adds a constant to something other than a MatMul's output")
    case "Concat": return nil  // of one input: the identity
    case "Softmax", "LogSoftmax": throw fail(n, "is read only as the graph's last node, over the classes (axis 1 or -1), where it is dropped")
    default: throw fail(n, "operator \(node.opType) is not supported here")
    }
  }

  private func clipBounds(_ n: Int) throws -> (Float, Float) {
    let node = graph.nodes[n]
    guard graph.opset >= 11 else { return (float(n, "min", -.infinity), float(n, "max", .infinity)) }
    func bound(_ index: Int, _ what: String, _ fallback: Float) throws -> Float {
      guard index < node.input.count, !node.input[index].isEmpty else { return fallback }
      let value = try graph.constant(n, index, what)
      guard value.values.count == 1 else { throw fail(n, "its \(what) is not one number") }
      return value.values[0]
    }
    return (try bound(1, "min", -.infinity), try bound(2, "max", .infinity))
  }

  private func convolution(_ n: Int, shape: [Int]) throws -> any Layer {
    let weight = try graph.constant(n, 1, "weight")
    guard weight.dims.count == 4 else { throw fail(n, "weight of dims \(weight.dims) (2-D convolutions only)") }
    let (k, s, p) = try window(n, kernel: [weight.dims[2], weight.dims[3]], shape: shape)
    if let declared = ints(n, "kernel_shape"), declared != [weight.dims[2], weight.dims[3]] { throw fail(n, "kernel_shape \(declared) disagrees with its weight \(weight.dims)") }
    let groups = int(n, "group", 1), filters = weight.dims[0], channels = shape[0]
    guard groups >= 1, weight.dims[1] * groups == channels, filters % groups == 0 else {
      throw fail(n, "weight \(weight.dims) in \(groups) groups does not fit \(channels) input channels")
    }
    let bias = graph.nodes[n].input.count > 2 && !graph.nodes[n].input[2].isEmpty ? try graph.constant(n, 2, "bias") : nil
    guard bias == nil || bias!.count == filters else { throw fail(n, "bias of \(bias!.count) values for \(filters) filters") }
    guard (1...NetworkArchitecture.maximumWindow).contains(k), s <= NetworkArchitecture.maximumWindow, p <= NetworkArchitecture.maximumWindow else {
      throw fail(n, "kernel \(k), stride \(s) or padding \(p) is larger than \(NetworkArchitecture.maximumWindow)")
    }
    if groups == 1 {
      let conv = Conv2D(channels, filters, kernelSize: k, stride: s, padding: p, bias: bias != nil, rng: rng)
      conv.weight.value = Tensor(shape: weight.dims, values: weight.values)
      if let bias { conv.bias.value = Tensor(shape: [filters], values: bias.values) }
      return conv
    }
    guard groups == channels, filters == channels else {
      throw fail(n, "a convolution in \(groups) groups of \(channels) channels to \(filters) filters (only 1 group, or depthwise: one group per channel, one filter each)")
    }
    let depthwise = DepthwiseConv2D(channels: channels, kernelSize: k, stride: s, padding: p, bias: bias != nil, rng: rng)
    depthwise.weight.value = Tensor(shape: weight.dims, values: weight.values)
    if let bias { depthwise.bias.value = Tensor(shape: [filters], values: bias.values) }
    return depthwise
  }

  private func gemm(_ n: Int, shape: [Int]) throws -> any Layer {
    guard shape.count == 1 else { throw fail(n, "multiplies a \(shape) input; flatten it first") }
    guard int(n, "transA", 0) == 0 else { throw fail(n, "transA 1 (the batch must come first)") }
    let b = try graph.constant(n, 1, "weight")
    guard b.dims.count == 2 else { throw fail(n, "weight of dims \(b.dims)") }
    let transposed = int(n, "transB", 0) != 0
    let (outputs, inputs) = transposed ? (b.dims[0], b.dims[1]) : (b.dims[1], b.dims[0])
    guard inputs == shape[0] else { throw fail(n, "takes \(inputs) features, gets \(shape[0])") }
    let alpha = float(n, "alpha", 1), beta = float(n, "beta", 1)
    var weight = transposed ? b.values : transpose(b.values, rows: inputs, columns: outputs)
    if alpha != 1 { weight = weight.map { $0 * alpha } }
    let hasBias = graph.nodes[n].input.count > 2 && !graph.nodes[n].input[2].isEmpty
    let bias = hasBias ? try self.bias(n, 2, outputs: outputs, scale: beta) : [Float](repeating: 0, count: outputs)
    return try dense(inputs: inputs, outputs: outputs, weight: weight, bias: bias, node: n)
  }

  /// `MatMul` by a constant `[in, out]` matrix, with the `Add` of a constant bias after it.
  func dense(matMul m: Int, bias add: Int?, shape: [Int]) throws -> any Layer {
    guard shape.count == 1 else { throw fail(m, "multiplies a \(shape) input; flatten it first") }
    let index = graph.nodes[m].input.firstIndex { graph.constants[$0] != nil }
    guard let index, index == 1 else { throw fail(m, "its matrix must be its second input and an initializer") }
    let b = try graph.constant(m, 1, "matrix")
    guard b.dims.count == 2, b.dims[0] == shape[0] else { throw fail(m, "matrix of dims \(b.dims) for \(shape[0]) features") }
    let (inputs, outputs) = (b.dims[0], b.dims[1])
    let bias = try add.map { add in
      try self.bias(add, graph.nodes[add].input.firstIndex { graph.constants[$0] != nil }!, outputs: outputs, scale: 1)
    } ?? [Float](repeating: 0, count: outputs)
    return try dense(inputs: inputs, outputs: outputs, weight: transpose(b.values, rows: inputs, columns: outputs), bias: bias, node: m)
  }

  /// The constant input `index` of node `n` as a bias of `outputs` values, times `scale`: given
  /// `[out]`, `[1, out]` or as one value for every output.
  private func bias(_ n: Int, _ index: Int, outputs: Int, scale: Float) throws -> [Float] {
    let c = try graph.constant(n, index, "bias")
    guard c.count == outputs || c.count == 1, c.dims.dropLast().allSatisfy({ $0 == 1 }) else { throw fail(n, "bias of dims \(c.dims) for \(outputs) outputs") }
    let values = c.count == 1 ? [Float](repeating: c.values[0], count: outputs) : c.values
    return scale == 1 ? values : values.map { $0 * scale }
  }

  private func dense(inputs: Int, outputs: Int, weight: [Float], bias: [Float], node n: Int) throws -> any Layer {
    guard (1...NetworkArchitecture.maximumFeatures).contains(inputs), (1...NetworkArchitecture.maximumFeatures).contains(outputs) else {
      throw fail(n, "\(inputs)→\(outputs) features is out of bounds")
    }
    let layer = Dense(inputs, outputs, rng: rng)
    layer.weight.value = Tensor(shape: [outputs, inputs], values: weight)
    layer.bias.value = Tensor(shape: [outputs], values: bias)
    return layer
  }

  private func transpose(_ values: [Float], rows: Int, columns: Int) -> [Float] {
    var out = [Float](repeating: 0, count: values.count)
    for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = values[r * columns + c] } }
    return out
  }

  private func batchNorm(_ n: Int, shape: [Int]) throws -> any Layer {
    guard shape.count == 3 else { throw fail(n, "normalises \(shape) (BatchNorm over image channels only, not features)") }
    guard int(n, "training_mode", 0) == 0 else { throw fail(n, "is in training mode") }
    guard int(n, "spatial", 1) == 1 else { throw fail(n, "spatial 0 (per-pixel statistics) is not supported") }
    let channels = shape[0]
    let parts = try ["scale", "bias", "mean", "variance"].enumerated().map { i, what -> [Float] in
      let value = try graph.constant(n, i + 1, what)
      guard value.count == channels else { throw fail(n, "its \(what) holds \(value.count) values for \(channels) channels") }
      return value.values
    }
    guard parts[3].allSatisfy({ $0 >= 0 }) else { throw fail(n, "its variance has negative entries") }
    let epsilon = float(n, "epsilon", 1e-5), momentum = float(n, "momentum", 0.9)
    guard epsilon > 0 && epsilon < 1, momentum >= 0 && momentum <= 1 else { throw fail(n, "epsilon \(epsilon) or momentum \(momentum) out of range") }
    // ONNX keeps `momentum` of the running value; PyTorch (and BatchNorm2D) the batch's share.
    let bn = BatchNorm2D(channels, epsilon: epsilon, momentum: 1 - momentum)
    bn.weight.value = Tensor(shape: [channels], values: parts[0])
    bn.bias.value = Tensor(shape: [channels], values: parts[1])
    bn.runningMean.value = Tensor(shape: [channels], values: parts[2])
    bn.runningVariance.value = Tensor(shape: [channels], values: parts[3])
    return bn
  }
}
