import Foundation
import ONNXProto

/// Why an ONNX file cannot be imported: one line naming the node, its operator and what is
/// wrong.
public struct ONNXImportError: Error, CustomStringConvertible, Equatable {
  /// The line.
  public let description: String
  /// The error with `description`.
  public init(_ description: String) { self.description = description }
}

/// An ONNX graph read for import: its nodes, constants, the one image input and the one output,
/// with the edges between nodes; checked for what the importer relies on (one writer per
/// tensor, no cycle, operators of the default domain that the importer knows).
struct ONNXGraph {
  let nodes: [Onnx_NodeProto]
  /// Initializers and `Constant` nodes' values, by tensor name.
  let constants: [String: ONNXConstant]
  /// The node writing each computed tensor.
  let producer: [String: Int]
  /// The nodes reading each tensor.
  let consumers: [String: [Int]]
  /// Each node's place in a topological order.
  let order: [Int]
  /// The image input and the logits.
  let input: String, output: String
  /// The input's declared dims after the batch (nil where symbolic).
  let inputDims: [Int?]
  /// The version of the default operator set.
  let opset: Int
  /// The model's metadata (our own exports keep their normalisation there).
  let metadata: [String: String]

  /// Operator sets whose operators the importer follows (the attributes it reads did not
  /// change in meaning between them).
  static let opsets = 7...21

  /// Operators the importer turns into layers (a `Constant` gives a value; `Softmax` and
  /// `LogSoftmax` only last, where they are dropped).
  static let operators = [
    "Conv", "Gemm", "MatMul", "Add", "BatchNormalization", "Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool",
    "ReduceMean", "Concat", "Flatten", "Reshape", "Identity", "Dropout", "Gather", "Constant", "Softmax", "LogSoftmax",
  ]

  init(bytes: Data, external: ONNXExternalData? = nil) throws {
    let model: Onnx_ModelProto
    do {
      model = try Onnx_ModelProto(serializedBytes: bytes)
    } catch {
      throw ONNXImportError("not an ONNX model: the protobuf does not decode (\(error))")
    }
    guard model.hasGraph, !model.graph.node.isEmpty else { throw ONNXImportError("not an ONNX model: it holds no graph (no nodes)") }
    guard let set = model.opsetImport.first(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }) else {
      throw ONNXImportError("the model imports no version of the default ONNX operator set")
    }
    guard ONNXGraph.opsets.contains(Int(clamping: set.version)) else {
      throw ONNXImportError("operator set \(set.version) is outside the versions read (\(ONNXGraph.opsets.lowerBound)–\(ONNXGraph.opsets.upperBound))")
    }
    opset = Int(set.version)
    let graph = model.graph
    metadata = Dictionary(model.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    guard graph.sparseInitializer.isEmpty else { throw ONNXImportError("the graph has sparse initializers, which are not read") }

    var constants: [String: ONNXConstant] = [:]
    for tensor in graph.initializer {
      guard constants[tensor.name] == nil else { throw ONNXImportError("initializer \(tensor.name) is given twice") }
      constants[tensor.name] = try ONNXConstant(tensor, node: "initializer \(tensor.name)", external: external)
    }
    nodes = graph.node
    var producer: [String: Int] = [:], consumers: [String: [Int]] = [:]
    for (index, node) in nodes.enumerated() {
      let label = ONNXGraph.label(node)
      guard node.domain.isEmpty || node.domain == "ai.onnx" else {
        throw ONNXImportError("\(label): operator \(node.opType) of domain \(node.domain) is not supported (supported: \(ONNXGraph.operators.joined(separator: ", ")) of the default domain)")
      }
      guard ONNXGraph.operators.contains(node.opType) else {
        // PyTorch's TorchScript exporter writes x.view(x.size(0), -1) as Shape → Gather → … → Reshape.
        let hint = node.opType == "Shape" ? "; a shape computed in the graph: flatten with torch.flatten(x, 1), or export with dynamo=True" : ""
        throw ONNXImportError("\(label): operator \(node.opType) is not supported (supported: \(ONNXGraph.operators.joined(separator: ", "))\(hint))")
      }
      if node.opType == "Constant" {
        guard node.output.count == 1, let value = node.attribute.first(where: { $0.name == "value" }), value.type == .tensor else {
          throw ONNXImportError("\(label): a Constant is read only with a tensor `value`")
        }
        constants[node.output[0]] = try ONNXConstant(value.t, node: label, external: external)
        continue
      }
      for output in node.output where !output.isEmpty {
        guard producer[output] == nil, constants[output] == nil else { throw ONNXImportError("\(label): tensor \(output) is written by two nodes") }
        producer[output] = index
      }
      for input in node.input where !input.isEmpty && constants[input] == nil { consumers[input, default: []].append(index) }
    }
    // Constants may come after the nodes that read them: drop those reads from the edges.
    for name in consumers.keys where constants[name] != nil { consumers[name] = nil }

    let inputs = graph.input.filter { constants[$0.name] == nil }
    guard inputs.count == 1 else {
      throw ONNXImportError("the graph takes \(inputs.count) inputs (\(inputs.map(\.name).joined(separator: ", "))); an image classifier with one input is imported")
    }
    guard graph.output.count == 1 else {
      throw ONNXImportError("the graph gives \(graph.output.count) outputs (\(graph.output.map(\.name).joined(separator: ", "))); a classifier with one output (the logits) is imported")
    }
    input = inputs[0].name
    output = graph.output[0].name
    guard producer[input] == nil else { throw ONNXImportError("the graph's input \(input) is also written by a node") }
    for node in nodes where node.opType != "Constant" {
      for name in node.input where !name.isEmpty && constants[name] == nil && producer[name] == nil && name != input {
        throw ONNXImportError("\(ONNXGraph.label(node)): its input \(name) is neither an initializer nor computed in the graph (a missing initializer)")
      }
    }
    let dims = inputs[0].type.tensorType.shape.dim
    guard dims.count >= 2 else { throw ONNXImportError("the graph's input \(input) has \(dims.count) dimensions; a batch of images [N, C, H, W] or of features [N, F] is imported") }
    if let bad = dims.dropFirst().first(where: { $0.dimParam.isEmpty && $0.dimValue <= 0 && $0.value != nil }) {
      throw ONNXImportError("the graph's input \(inputs[0].name) has a dimension of \(bad.dimValue)")
    }
    inputDims = dims.dropFirst().map { $0.dimValue > 0 ? Int(clamping: $0.dimValue) : nil }
    self.constants = constants
    self.producer = producer
    self.consumers = consumers

    // Kahn's order over the computed tensors: a node left over sits on a cycle.
    let all = graph.node
    var waiting = all.indices.map { i in Set(all[i].input.filter { !$0.isEmpty && producer[$0] != nil }).count }
    var ready = all.indices.filter { waiting[$0] == 0 }
    var order = [Int](repeating: -1, count: all.count), placed = 0
    while let n = ready.popLast() {
      order[n] = placed
      placed += 1
      for output in all[n].output where !output.isEmpty {
        for reader in Set(consumers[output] ?? []) {
          waiting[reader] -= 1
          if waiting[reader] == 0 { ready.append(reader) }
        }
      }
    }
    if let stuck = order.firstIndex(of: -1) {
      throw ONNXImportError("\(ONNXGraph.label(all[stuck])): the graph has a cycle through this node")
    }
    self.order = order
  }

  /// "node NAME (OPERATOR)", or the node's first output where it has no name.
  static func label(_ node: Onnx_NodeProto) -> String {
    "node \(node.name.isEmpty ? node.output.first ?? "?" : node.name) (\(node.opType))"
  }

  /// The inputs of node `n` computed in the graph (not constants, not left out).
  func dataInputs(_ n: Int) -> [String] { nodes[n].input.filter { !$0.isEmpty && constants[$0] == nil } }

  /// The constant input `index` of node `n` (`what` names it in the error).
  func constant(_ n: Int, _ index: Int, _ what: String) throws -> ONNXConstant {
    let node = nodes[n]
    guard index < node.input.count, !node.input[index].isEmpty else { throw ONNXImportError("\(ONNXGraph.label(node)): its \(what) is missing") }
    guard let value = constants[node.input[index]] else {
      let name = node.input[index]
      let why = producer[name] != nil ? "computed in the graph, not an initializer" : "neither an initializer nor computed (a missing initializer)"
      throw ONNXImportError("\(ONNXGraph.label(node)): its \(what) \(name) is \(why)")
    }
    return value
  }

  /// Tensors `tensor` is computed from, itself included (constants left out).
  func ancestors(of tensor: String) -> Set<String> {
    var seen: Set<String> = [tensor], stack = [tensor]
    while let t = stack.popLast() {
      guard let n = producer[t] else { continue }
      for input in dataInputs(n) where seen.insert(input).inserted { stack.append(input) }
    }
    return seen
  }

  /// Where a tensor sits in the topological order (the input first).
  func position(_ tensor: String) -> Int { producer[tensor].map { order[$0] } ?? -1 }
}

/// The shape of an imported graph: a chain of single-input operators, with residual blocks
/// (an `Add` of two paths from one fork) nested in it.
indirect enum ONNXPiece {
  /// A node with one computed input.
  case node(Int)
  /// `MatMul` with a constant matrix, and the `Add` of a constant bias after it.
  case matMul(Int, bias: Int?)
  /// `Add` of a body and a shortcut (empty: the identity) from one fork.
  case residual(add: Int, body: [ONNXPiece], shortcut: [ONNXPiece])
  /// `Concat` of branches (empty: the identity) from one fork.
  case concatenation(node: Int, branches: [[ONNXPiece]])
}

extension ONNXGraph {
  /// The pieces from tensor `start` to tensor `end`, walking back from `end`; throws where the
  /// graph is not a chain of single-input operators and residual blocks (a tensor read by
  /// several nodes outside one block, a node reading several computed tensors).
  func chain(from start: String, to end: String, depth: Int = 0, notes: inout [String]) throws -> [ONNXPiece] {
    guard depth <= 64 else { throw ONNXImportError("residual blocks nest more than 64 deep") }
    var pieces: [ONNXPiece] = [], t = end
    var forked = false  // t starts a residual block or a concatenation: read by its paths (checked in `join`)
    while t != start {
      guard let n = producer[t] else {
        throw ONNXImportError("tensor \(t) is neither the graph's input nor computed from it (a missing initializer or a second input)")
      }
      let node = nodes[n], label = ONNXGraph.label(node)
      if t != output, !forked, (consumers[t] ?? []).count != 1 {
        throw ONNXImportError("\(label): its output \(t) is read by \((consumers[t] ?? []).count) nodes; only residual blocks (Add of two paths) may branch")
      }
      forked = false
      let inputs = dataInputs(n)
      if node.output.dropFirst().contains(where: { !$0.isEmpty && !(consumers[$0] ?? []).isEmpty }) {
        throw ONNXImportError("\(label): only its first output may be used")
      }
      let axis = node.attribute.first { $0.name == "axis" }.map { Int(clamping: $0.i) } ?? (opset >= 13 ? -1 : 1)
      if t == output, pieces.isEmpty, ["Softmax", "LogSoftmax"].contains(node.opType), inputs.count == 1, [1, -1].contains(axis) {
        notes.append("dropped the final \(node.opType): the tool trains and exports logits (the largest is the same class)")
        t = inputs[0]
        continue
      }
      switch node.opType {
      case "Add" where inputs.count == 2:
        guard inputs[0] != inputs[1] else { throw ONNXImportError("\(label): adds a tensor to itself") }
        let (fork, paths) = try join(inputs, at: label, inputsAre: "its two inputs", startAre: "its block starts", depth: depth, notes: &notes)
        let (body, shortcut) = paths[0].count >= paths[1].count ? (paths[0], paths[1]) : (paths[1], paths[0])
        pieces.insert(.residual(add: n, body: body, shortcut: shortcut), at: 0)
        (t, forked) = (fork, true)
      case "Concat" where inputs.count >= 2:
        guard inputs.count == node.input.filter({ !$0.isEmpty }).count else { throw ONNXImportError("\(label): concatenates a constant") }
        let (fork, branches) = try join(inputs, at: label, inputsAre: "its inputs", startAre: "its branches start", depth: depth, notes: &notes)
        pieces.insert(.concatenation(node: n, branches: branches), at: 0)
        (t, forked) = (fork, true)
      case "Add" where inputs.count == 1:
        guard let m = producer[inputs[0]], nodes[m].opType == "MatMul", (consumers[inputs[0]] ?? []).count == 1 else {
          throw ONNXImportError("\(label): adds a constant to something other than a MatMul's output")
        }
        let matrixInputs = dataInputs(m)
        guard matrixInputs.count == 1 else { throw ONNXImportError("\(ONNXGraph.label(nodes[m])): multiplies two computed tensors") }
        pieces.insert(.matMul(m, bias: n), at: 0)
        t = matrixInputs[0]
      case "MatMul":
        guard inputs.count == 1 else { throw ONNXImportError("\(label): multiplies two computed tensors") }
        pieces.insert(.matMul(n, bias: nil), at: 0)
        t = inputs[0]
      default:
        guard inputs.count == 1 else {
          throw ONNXImportError("\(label): reads \(inputs.count) computed tensors (\(inputs.joined(separator: ", "))); a weight must be an initializer")
        }
        pieces.insert(.node(n), at: 0)
        t = inputs[0]
      }
    }
    return pieces
  }

  /// The paths a joining node (an Add or a Concat of `inputs`) joins, each a chain from the
  /// tensor they all come from (the latest common ancestor), which must be read by one node per
  /// path and by nothing else; `inputsAre` and `startAre` word the errors.
  private func join(
    _ inputs: [String], at label: String, inputsAre: String, startAre: String, depth: Int, notes: inout [String]
  ) throws -> (fork: String, paths: [[ONNXPiece]]) {
    var common = ancestors(of: inputs[0])
    for input in inputs.dropFirst() { common.formIntersection(ancestors(of: input)) }
    guard let fork = common.max(by: { position($0) < position($1) }) else {
      throw ONNXImportError("\(label): \(inputsAre) do not come from one tensor")
    }
    let paths = try inputs.map { try chain(from: fork, to: $0, depth: depth + 1, notes: &notes) }
    let readers = (consumers[fork] ?? []).count
    guard readers == inputs.count else {
      throw ONNXImportError("\(label): the tensor \(fork) \(startAre) from is read by \(readers) nodes, not \(inputs.count)")
    }
    return (fork, paths)
  }
}
