import AutoPruneNN
import Foundation

/// A pruned model rebuilt as a plain dense network without its dead units: fewer neurons and
/// filters, the next layer's matching columns or channels removed, and (for a first dense
/// layer) only the input features it still reads. No masks, no gates: what it computes is the
/// masked model's output.
public struct ThinnedModel {
  /// The thinned layers, named as in the original, with a `select` layer after the Flatten when
  /// the first dense layer reads only some input features.
  public let network: Sequential
  /// Per-sample input shape (the original model's).
  public let inputShape: [Int]
  /// Units kept per prunable layer, in forward order (input features first when selected).
  public let units: [(name: String, kept: Int, total: Int)]
  /// Input features the first dense layer still reads (nil when it reads them all, or for a conv).
  public let inputFeatures: [Int]?

  /// Surviving widths as `PruningReport.architecture` prints them: the input features first
  /// for a dense first layer (`584-130-60-10`), the units of each layer (`18-25-400-10`).
  public var architecture: String {
    let firstIsConvolution = network.layers.first { $0.layer is Dense || $0.layer is Conv2D }?.layer is Conv2D
    let inputs = firstIsConvolution ? [] : [inputFeatures?.count ?? inputShape.reduce(1, *)]
    return (inputs + units.map(\.kept)).map(String.init).joined(separator: "-")
  }

  /// Values in the thinned network's parameters: what it stores.
  public var parameterCount: Int { network.parameters.reduce(0) { $0 + $1.count } }
}

/// Why a network cannot be thinned; the message names the layer.
public enum ThinningError: Error, CustomStringConvertible, Equatable {
  case unsupportedLayer(String)
  case nothingLeft(String)

  public var description: String {
    switch self {
    case .unsupportedLayer(let name): return "cannot thin: layer \(name) is of a kind thinning does not know"
    case .nothingLeft(let name): return "cannot thin: layer \(name) has no unit left (the pruned model outputs constants)"
    }
  }
}

/// Rebuilds pruned models without their dead units (see `ThinnedModel`).
public enum Thinning {
  /// Builds the thinned network of `model` from its effective (masked) weights, without the
  /// units `ChannelGraph.liveness()` finds dead (the units `PruningReport` counts as dead). A
  /// channel of a residual stream goes only when dead in every layer writing it; a layer that
  /// writes nothing into a kept channel keeps a zero row for it.
  public static func thin(_ model: Model) throws -> ThinnedModel {
    try thin(network: model.network, inputShape: model.inputShape)
  }

  /// `thin(_:)` for a network outside a `Model` (per-sample input `inputShape`).
  public static func thin(network: Sequential, inputShape: [Int]) throws -> ThinnedModel {
    let graph = ChannelGraph(network: network, inputShape: inputShape)
    let prunable = graph.layers
    try checkSupported(network, prefix: "", prunable: prunable)
    let liveness = graph.liveness()
    for space in liveness.channels.keys.sorted() where !liveness.channels[space]!.contains(true) {
      throw ThinningError.nothingLeft(prunable[graph.writers[space]![0]].name)
    }
    let channels = liveness.channels
    let keptRows = prunable.indices.map { liveness.aliveUnits($0) }
    // Input features of a first dense layer that some kept row reads (when it alone reads the input).
    var inputFeatures: [Int]?
    if graph.readers[PrunableLayer.networkInput] == [0], let first = prunable.first, !first.isConvolution {
      let read = liveness.inputsRead.indices.filter { liveness.inputsRead[$0] }
      // A layer left reading nothing (its units live on their biases alone) keeps one zero column.
      if read.count < first.columns { inputFeatures = read.isEmpty ? [0] : read }
    }
    let builder = Builder(prunable: prunable, keptRows: keptRows, channels: channels, inputFeatures: inputFeatures)
    let units = prunable.enumerated().map { (name: $1.name, kept: keptRows[$0].count, total: $1.rows) }
    return ThinnedModel(
      network: Sequential(builder.rebuild(network, prefix: "")), inputShape: inputShape, units: units, inputFeatures: inputFeatures)
  }

  /// Throws for a layer thinning cannot rebuild (anything that mixes channels other than the
  /// prunable layers, or a BatchNorm not tied to a convolution).
  static func checkSupported(_ network: Sequential, prefix: String, prunable: [PrunableLayer]) throws {
    for (name, layer) in network.layers {
      if let block = layer as? Residual {
        try checkSupported(block.body, prefix: prefix + name + ".", prunable: prunable)
        if let shortcut = block.shortcut { try checkSupported(shortcut, prefix: prefix + name + ".", prunable: prunable) }
        continue
      }
      if let join = layer as? Concatenation {
        for branch in join.branches { try checkSupported(branch.network, prefix: prefix + name + ".", prunable: prunable) }
        continue
      }
      // Layers that act on each channel alone keep working on the kept ones.
      let known = layer is Dense || layer is Conv2D || layer is DepthwiseConv2D || layer is ReLU || layer is ReLU6 || layer is MaxPool2D || layer is AvgPool2D
        || layer is GlobalAvgPool2D || layer is AdaptiveAvgPool2D || layer is Flatten || layer is Dropout
        || (layer is BatchNorm2D && prunable.contains { $0.batchNorm === layer })
      if !known { throw ThinningError.unsupportedLayer(prefix + name) }
    }
  }

  /// Rebuilds a network (recursing into residual blocks) with the kept rows and columns.
  final class Builder {
    let prunable: [PrunableLayer]
    let keptRows: [[Int]]
    let channels: [Int: [Bool]]
    let inputFeatures: [Int]?

    init(prunable: [PrunableLayer], keptRows: [[Int]], channels: [Int: [Bool]], inputFeatures: [Int]?) {
      self.prunable = prunable
      self.keptRows = keptRows
      self.channels = channels
      self.inputFeatures = inputFeatures
    }

    func rebuild(_ network: Sequential, prefix: String) -> [(String, any Layer)] {
      var layers: [(String, any Layer)] = []
      for (name, layer) in network.layers {
        if let block = layer as? Residual {
          let body = rebuild(block.body, prefix: prefix + name + ".")
          // Residual prefixes its shortcut's layers again.
          let shortcut = block.shortcut.map { rebuild($0, prefix: prefix + name + ".", dropping: block.shortcutName + ".") }
          layers.append((name, Residual(body, shortcut: shortcut, shortcutName: block.shortcutName)))
        } else if let join = layer as? Concatenation {
          // Its channels are kept whole (`PrunableLayer.outputPinned`); layers inside thin.
          layers.append((name, Concatenation(join.branches.map { ($0.name, rebuild($0.network, prefix: prefix + name + ".", dropping: $0.name + ".")) })))
        } else if let bn = layer as? BatchNorm2D, let p = prunable.firstIndex(where: { $0.batchNorm === bn }) {
          layers.append((name, thinnedBatchNorm(bn, keeping: keptRows[p])))
        } else if let weight = layer.parameters.first(where: \.prunable), let p = prunable.firstIndex(where: { $0.weight === weight }) {
          // Right before the first dense layer (after its Flatten, if any), which then reads only
          // the selected features.
          if p == 0, let inputFeatures { layers.append(("select", SelectFeatures(inputFeatures, of: prunable[0].columns))) }
          layers.append((name, thinned(layer, p)))
        } else {
          layers.append((name, layer))
        }
      }
      return layers
    }

    /// `rebuild`, with `dropping` left off the layers' names: a shortcut or a branch prefixes
    /// them again when made.
    func rebuild(_ network: Sequential, prefix: String, dropping: String) -> [(String, any Layer)] {
      rebuild(network, prefix: prefix).map { (String($0.0.dropFirst(dropping.count)), $0.1) }
    }

    /// Layer `p` with its kept rows and the columns of its input space's kept channels.
    func thinned(_ layer: any Layer, _ p: Int) -> any Layer {
      let rows = keptRows[p], source = prunable[p]
      let columnIndices: [Int]
      if source.isDepthwise {
        columnIndices = Array(0..<source.columns)  // each kept channel keeps its whole filter
      } else if let upstream = channels[source.inputSpace] {
        let g = source.columnsPerInput * source.inputsPerUpstreamUnit
        columnIndices = upstream.indices.filter { upstream[$0] }.flatMap { u in (u * g)..<((u + 1) * g) }
      } else if source.readsNetworkInput, p == 0, let inputFeatures {
        columnIndices = inputFeatures
      } else {
        columnIndices = Array(0..<source.columns)
      }
      let weights = source.weight.effective.storage, biases = source.bias.effective.storage
      var w = [Float](repeating: 0, count: rows.count * columnIndices.count)
      for (ri, r) in rows.enumerated() {
        for (ci, c) in columnIndices.enumerated() { w[ri * columnIndices.count + ci] = weights[r * source.columns + c] }
      }
      let b = rows.map { biases[$0] }
      let rng = RandomSource(seed: 1)
      if let depthwise = layer as? DepthwiseConv2D {
        let d = DepthwiseConv2D(
          channels: rows.count, kernelSize: depthwise.kernelSize, stride: depthwise.stride, padding: depthwise.padding, bias: depthwise.hasBias, rng: rng)
        d.weight.value = Tensor(shape: [rows.count, 1, depthwise.kernelSize, depthwise.kernelSize], values: w)
        d.bias.value = Tensor(shape: [rows.count], values: b)
        return d
      }
      if let conv = layer as? Conv2D {
        let channels = columnIndices.count / (conv.kernelSize * conv.kernelSize)
        let c = Conv2D(channels, rows.count, kernelSize: conv.kernelSize, stride: conv.stride, padding: conv.padding, bias: conv.hasBias, rng: rng)
        c.weight.value = Tensor(shape: [rows.count, channels, conv.kernelSize, conv.kernelSize], values: w)
        c.bias.value = Tensor(shape: [rows.count], values: b)
        return c
      }
      let d = Dense(columnIndices.count, rows.count, rng: rng)
      d.weight.value = Tensor(shape: [rows.count, columnIndices.count], values: w)
      d.bias.value = Tensor(shape: [rows.count], values: b)
      return d
    }
  }

  /// The BatchNorm of the kept channels, in inference form (γ, β, running averages), closing
  /// nothing itself: a kept channel the original closed (its filter has no weight left, while
  /// another layer writing the same residual stream keeps the channel) gets γ = β = 0 and
  /// outputs zero, and one whose filter reads only dead inputs keeps its constant β − γμ/σ, as
  /// the masked model's do.
  static func thinnedBatchNorm(_ bn: BatchNorm2D, keeping rows: [Int]) -> BatchNorm2D {
    let thinned = BatchNorm2D(rows.count, epsilon: bn.epsilon, momentum: bn.momentum)
    let (gamma, beta) = bn.effectiveAffine
    thinned.weight.value = Tensor(shape: [rows.count], values: rows.map { gamma[$0] })
    thinned.bias.value = Tensor(shape: [rows.count], values: rows.map { beta[$0] })
    thinned.runningMean.value = Tensor(shape: [rows.count], values: rows.map { bn.runningMean.value[$0] })
    thinned.runningVariance.value = Tensor(shape: [rows.count], values: rows.map { bn.runningVariance.value[$0] })
    return thinned
  }
}
