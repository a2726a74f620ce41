import AutoPrune
import AutoPruneNN
import Foundation
import ONNXProto
import SwiftProtobuf

/// Why a network cannot be exported; the message names the layer at fault.
public enum ONNXExportError: Error, CustomStringConvertible, Equatable {
  case unsupportedLayer(String)

  public var description: String {
    switch self {
    case .unsupportedLayer(let name): return "cannot export layer \(name) to ONNX: its kind has no mapping yet"
    }
  }
}

/// Writes a network as an ONNX model (opset 13): Flatten, Gemm (transB = 1, PyTorch's Linear),
/// Conv, BatchNormalization (running averages), MaxPool, AveragePool, GlobalAveragePool, Relu,
/// Add (residual blocks), Concat (concatenations) and Gather (a thinned network's input selection), weights as float
/// initializers with the masks applied. The graph takes normalised images `input`
/// `[N, C, H, W]` (the normalisation is in the model's metadata) and returns `logits`.
public enum ONNXExport {
  /// The ONNX operator set the nodes follow (ONNX 1.8, IR version 7): a runtime must support at
  /// least this one.
  public static let opset: Int64 = 13

  /// The ONNX model of `network` for one sample of `inputShape` (`[C, H, W]` or `[features]`),
  /// with a symbolic batch `N`. The normalisation goes into the metadata, not the graph, so
  /// callers feed normalised images. Throws at the first layer with no ONNX mapping.
  public static func model(
    network: Sequential, inputShape: [Int], normalization: Normalization, name: String
  ) throws -> Onnx_ModelProto {
    var graph = Onnx_GraphProto()
    graph.name = name
    graph.input = [valueInfo("input", dims: ["N"] + inputShape.map { "\($0)" })]
    var shape = inputShape
    let last = try emit(network.layers, from: "input", prefix: "", shape: &shape, into: &graph)
    // The node that writes the last tensor writes `logits` instead (nothing else reads it).
    for i in graph.node.indices where graph.node[i].output == [last] {
      graph.node[i].output = ["logits"]
    }
    graph.output = [valueInfo("logits", dims: ["N"] + shape.map { "\($0)" })]

    var model = Onnx_ModelProto()
    model.irVersion = 7  // the IR of opset 13 (ONNX 1.8)
    model.producerName = "autoprune"
    model.graph = graph
    var opset = Onnx_OperatorSetIdProto()
    opset.domain = ""
    opset.version = ONNXExport.opset
    model.opsetImport = [opset]
    model.metadataProps = [
      property("normalization_mean", (normalization.channelMeans ?? [normalization.mean]).map { "\($0)" }.joined(separator: ",")),
      property("normalization_std", (normalization.channelStds ?? [normalization.std]).map { "\($0)" }.joined(separator: ",")),
      property("input", "images scaled to [0, 1], minus normalization_mean, divided by normalization_std (per channel when several)"),
    ]
    return model
  }

  /// Appends the nodes of `layers` reading tensor `input`, names prefixed with `prefix`; returns
  /// the name of the last output. A residual block becomes its body, its shortcut (or the input
  /// itself) and an Add.
  /// `shape` is one sample's shape at `input`, and after the call at the returned tensor (an
  /// adaptive pooling's window depends on it).
  private static func emit(
    _ layers: [(name: String, layer: any Layer)], from input: String, prefix: String, shape: inout [Int], into graph: inout Onnx_GraphProto
  ) throws -> String {
    var current = input
    for (localName, layer) in layers {
      let layerName = prefix + localName
      let inputShape = shape
      shape = layer.outputShape(for: inputShape)
      if let block = layer as? Residual {
        var bodyShape = inputShape, sideShape = inputShape
        let main = try emit(block.body.layers, from: current, prefix: layerName + ".", shape: &bodyShape, into: &graph)
        let side = try block.shortcut.map { try emit($0.layers, from: current, prefix: layerName + ".", shape: &sideShape, into: &graph) } ?? current
        var add = Onnx_NodeProto()
        add.name = layerName + ".add"
        add.opType = "Add"
        add.input = [main, side]
        add.output = [layerName + ".add"]
        graph.node.append(add)
        current = layerName + ".add"
        continue
      }
      if let join = layer as? Concatenation {
        var outputs: [String] = []
        for branch in join.branches {
          var branchShape = inputShape
          outputs.append(try emit(branch.network.layers, from: current, prefix: layerName + ".", shape: &branchShape, into: &graph))
        }
        var concat = Onnx_NodeProto()
        concat.name = layerName
        concat.opType = "Concat"
        concat.input = outputs
        concat.output = [layerName]
        concat.attribute = [attribute("axis", int: 1)]
        graph.node.append(concat)
        current = layerName
        continue
      }
      var node = Onnx_NodeProto()
      node.name = layerName
      node.input = [current]
      node.output = [layerName]
      switch layer {
      case is Flatten:
        node.opType = "Flatten"
        node.attribute = [attribute("axis", int: 1)]
      case is ReLU:
        node.opType = "Relu"
      case is Dropout:
        continue  // identity at inference
      case let dense as Dense:
        node.opType = "Gemm"
        node.input += [layerName + ".weight", layerName + ".bias"]
        node.attribute = [attribute("transB", int: 1)]
        graph.initializer += [tensor(layerName + ".weight", dense.weight.effective), tensor(layerName + ".bias", dense.bias.effective)]
      case let conv as Conv2D:
        node.opType = "Conv"
        node.input += [layerName + ".weight"] + (conv.hasBias ? [layerName + ".bias"] : [])
        let p = Int64(conv.padding)
        node.attribute = [
          attribute("kernel_shape", ints: [Int64(conv.kernelSize), Int64(conv.kernelSize)]),
          attribute("strides", ints: [Int64(conv.stride), Int64(conv.stride)]),
          attribute("pads", ints: [p, p, p, p]),
        ]
        graph.initializer.append(tensor(layerName + ".weight", conv.weight.effective))
        if conv.hasBias { graph.initializer.append(tensor(layerName + ".bias", conv.bias.effective)) }
      case let depthwise as DepthwiseConv2D:
        // A grouped Conv with one group per channel: weight [C, 1, k, k] as ONNX wants it.
        node.opType = "Conv"
        node.input += [layerName + ".weight"] + (depthwise.hasBias ? [layerName + ".bias"] : [])
        let p = Int64(depthwise.padding)
        node.attribute = [
          attribute("group", int: Int64(depthwise.channels)),
          attribute("kernel_shape", ints: [Int64(depthwise.kernelSize), Int64(depthwise.kernelSize)]),
          attribute("strides", ints: [Int64(depthwise.stride), Int64(depthwise.stride)]),
          attribute("pads", ints: [p, p, p, p]),
        ]
        graph.initializer.append(tensor(layerName + ".weight", depthwise.weight.effective))
        if depthwise.hasBias { graph.initializer.append(tensor(layerName + ".bias", depthwise.bias.effective)) }
      case is ReLU6:
        // Clip's bounds are inputs since opset 11, and must be scalars (rank 0).
        node.opType = "Clip"
        node.input += [layerName + ".min", layerName + ".max"]
        graph.initializer += [scalar(layerName + ".min", 0), scalar(layerName + ".max", 6)]
      case let pool as AdaptiveAvgPool2D where pool.outputHeight == 1 && pool.outputWidth == 1:
        node.opType = "GlobalAveragePool"  // keeps the 1 × 1 plane, as the layer does
      case let pool as AdaptiveAvgPool2D where inputShape[1] % pool.outputHeight == 0 && inputShape[2] % pool.outputWidth == 0:
        // Sizes that divide give equal, non-overlapping bins: a plain average pool (ONNX has no
        // adaptive one). AlexNet at 224 pools 6 × 6 to 6 × 6, a 1 × 1 window.
        let (kh, kw) = (Int64(inputShape[1] / pool.outputHeight), Int64(inputShape[2] / pool.outputWidth))
        node.opType = "AveragePool"
        node.attribute = [attribute("kernel_shape", ints: [kh, kw]), attribute("strides", ints: [kh, kw])]
      case let bn as BatchNorm2D:
        // Inference form: the running averages normalise; channels of pruned filters are closed.
        let (gamma, beta) = bn.effectiveAffine
        node.opType = "BatchNormalization"
        node.input += ["weight", "bias", "running_mean", "running_var"].map { layerName + "." + $0 }
        node.attribute = [attribute("epsilon", float: bn.epsilon)]
        graph.initializer += [
          tensor(layerName + ".weight", gamma), tensor(layerName + ".bias", beta),
          tensor(layerName + ".running_mean", bn.runningMean.value), tensor(layerName + ".running_var", bn.runningVariance.value),
        ]
      case let pool as MaxPool2D:
        node.opType = "MaxPool"
        let p = Int64(pool.padding)
        node.attribute = [
          attribute("kernel_shape", ints: [Int64(pool.kernelSize), Int64(pool.kernelSize)]),
          attribute("strides", ints: [Int64(pool.stride), Int64(pool.stride)]),
        ] + (p > 0 ? [attribute("pads", ints: [p, p, p, p])] : [])
      case let pool as AvgPool2D:
        node.opType = "AveragePool"
        node.attribute = [
          attribute("kernel_shape", ints: [Int64(pool.kernelSize), Int64(pool.kernelSize)]),
          attribute("strides", ints: [Int64(pool.stride), Int64(pool.stride)]),
        ]
      case is GlobalAvgPool2D:
        // ONNX keeps the 1 × 1 plane; our layer drops it: pool, then flatten.
        node.opType = "GlobalAveragePool"
        node.name = layerName + ".pooled"
        node.output = [layerName + ".pooled"]
        graph.node.append(node)
        node = Onnx_NodeProto()
        node.name = layerName
        node.opType = "Flatten"
        node.input = [layerName + ".pooled"]
        node.output = [layerName]
        node.attribute = [attribute("axis", int: 1)]
      case let select as SelectFeatures:
        node.opType = "Gather"
        node.input += [layerName + ".indices"]
        node.attribute = [attribute("axis", int: 1)]
        var indices = Onnx_TensorProto()
        indices.name = layerName + ".indices"
        indices.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        indices.dims = [Int64(select.indices.count)]
        indices.int64Data = select.indices.map(Int64.init)
        graph.initializer.append(indices)
      default:
        throw ONNXExportError.unsupportedLayer(layerName)
      }
      graph.node.append(node)
      current = layerName
    }
    return current
  }

  /// Writes `model` to `path` as ONNX (masks applied), or with `thin` the network with its dead
  /// neurons and filters removed; returns a line saying what was written.
  @discardableResult
  public static func write(_ model: Model, normalization: Normalization, thin: Bool = false, to path: String) throws -> String {
    var network = model.network, shape = model.inputShape
    var description = "\(model.name), \(model.parameterCount) parameters"
    if thin {
      let thinned = try Thinning.thin(model)
      (network, shape) = (thinned.network, thinned.inputShape)
      description = "\(model.name) thinned to \(thinned.architecture), \(thinned.parameterCount) parameters"
    }
    try write(self.model(network: network, inputShape: shape, normalization: normalization, name: model.name), to: path)
    return description
  }

  /// Serialises `model` to `path` atomically.
  public static func write(_ model: Onnx_ModelProto, to path: String) throws {
    let data: Data = try model.serializedData()
    try AtomicFile.write([UInt8](data), to: path)
  }

  private static func tensor(_ name: String, _ value: Tensor) -> Onnx_TensorProto {
    var t = Onnx_TensorProto()
    t.name = name
    t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    t.dims = value.shape.map(Int64.init)
    // Little-endian float32 bytes, as raw_data expects.
    t.rawData = value.storage.withUnsafeBufferPointer { Data(buffer: $0) }
    return t
  }

  private static func valueInfo(_ name: String, dims: [String]) -> Onnx_ValueInfoProto {
    var shape = Onnx_TensorShapeProto()
    shape.dim = dims.map { d in
      var dim = Onnx_TensorShapeProto.Dimension()
      if let value = Int64(d) { dim.dimValue = value } else { dim.dimParam = d }
      return dim
    }
    var tensorType = Onnx_TypeProto.Tensor()
    tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    tensorType.shape = shape
    var type = Onnx_TypeProto()
    type.tensorType = tensorType
    var info = Onnx_ValueInfoProto()
    info.name = name
    info.type = type
    return info
  }

  /// A rank-0 float initializer.
  private static func scalar(_ name: String, _ value: Float) -> Onnx_TensorProto {
    var t = Onnx_TensorProto()
    t.name = name
    t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    t.floatData = [value]
    return t
  }

  private static func attribute(_ name: String, int: Int64) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .int
    a.i = int
    return a
  }

  private static func attribute(_ name: String, float: Float) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .float
    a.f = float
    return a
  }

  private static func attribute(_ name: String, ints: [Int64]) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name
    a.type = .ints
    a.ints = ints
    return a
  }

  private static func property(_ key: String, _ value: String) -> Onnx_StringStringEntryProto {
    var p = Onnx_StringStringEntryProto()
    p.key = key
    p.value = value
    return p
  }
}
