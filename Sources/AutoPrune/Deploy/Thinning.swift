import AutoPruneNN
import Foundation

/// A pruned model rebuilt as a plain dense network without its dead units: fewer neurons and
/// filters, the next layer's matching columns or channels removed, and (for a first dense
/// layer) only the input features it still reads. No masks, no gates: what it computes is the
/// masked model's output.
public struct ThinnedModel {
  public let network: Sequential
  /// Per-sample input shape (the original model's).
  public let inputShape: [Int]
  /// Units kept per prunable layer, in forward order (input features first when selected).
  public let units: [(name: String, kept: Int, total: Int)]
  /// Input features the first dense layer still reads (nil when it reads them all, or for a conv).
  public let inputFeatures: [Int]?

  /// `inputs-units-…` (input channels for a conv network), as `PruningReport.architecture` prints it.
  public var architecture: String {
    let firstIsConvolution = network.layers.first { $0.layer is Dense || $0.layer is Conv2D }?.layer is Conv2D
    let inputs = firstIsConvolution ? inputShape[0] : inputFeatures?.count ?? inputShape.reduce(1, *)
    return ([inputs] + units.map(\.kept)).map(String.init).joined(separator: "-")
  }

  public var parameterCount: Int { network.parameters.reduce(0) { $0 + $1.count } }
}

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

public enum Thinning {
  /// Builds the thinned network of `model` from its effective (masked) weights.
  ///
  /// A unit is dead when nothing reaches the output through it: its weight row and bias are zero
  /// (ReLU(0) = 0 and max-pooling keeps 0 at 0), or every weight the next layer reads from it is
  /// zero. Removing dead units can kill more, so the search repeats until nothing changes.
  public static func thin(_ model: Model) throws -> ThinnedModel {
    try thin(network: model.network, inputShape: model.inputShape)
  }

  public static func thin(network: Sequential, inputShape: [Int]) throws -> ThinnedModel {
    let prunable = PrunableLayer.discover(in: network, inputShape: inputShape)
    for (name, layer) in network.layers
    where !(layer is Dense || layer is Conv2D || layer is ReLU || layer is MaxPool2D || layer is Flatten || layer is Dropout
      || (layer is BatchNorm2D && prunable.contains { $0.batchNorm === layer }))
    {
      throw ThinningError.unsupportedLayer(name)
    }
    let weights = prunable.map { $0.weight.effective.storage }
    let biases = prunable.map { $0.bias.effective.storage }
    var alive = prunable.map { [Bool](repeating: true, count: $0.rows) }
    // Columns of layer i that belong to upstream unit u: a contiguous block of `group(i)`.
    func group(_ i: Int) -> Int { prunable[i].columns / prunable[i - 1].rows }
    var changed = true
    while changed {
      changed = false
      for i in 0..<(prunable.count - 1) {
        let layer = prunable[i], next = prunable[i + 1], g = group(i + 1)
        for r in 0..<layer.rows where alive[i][r] {
          // Row dead: no live input reaches it and its bias is zero. With BatchNorm after it the
          // filter's weights decide alone: BatchNorm closes a filter with no weight (whatever its
          // bias) and turns the zeros of one reading only dead inputs into a live constant.
          var rowLive = biases[i][r] != 0
          if layer.batchNorm != nil {
            rowLive = (0..<layer.columns).contains { weights[i][r * layer.columns + $0] != 0 }
          } else if !rowLive {
            let upstreamGroup = i > 0 ? group(i) : layer.columns
            for c in 0..<layer.columns where weights[i][r * layer.columns + c] != 0 {
              if i == 0 || alive[i - 1][c / upstreamGroup] {
                rowLive = true
                break
              }
            }
          }
          // Column block dead: no live unit of the next layer reads it.
          var read = false
          if rowLive {
            outer: for o in 0..<next.rows where alive[i + 1][o] {
              for c in (r * g)..<((r + 1) * g) where weights[i + 1][o * next.columns + c] != 0 {
                read = true
                break outer
              }
            }
          }
          if !rowLive || !read {
            alive[i][r] = false
            changed = true
          }
        }
        if !alive[i].contains(true) { throw ThinningError.nothingLeft(layer.name) }
      }
    }
    let keptRows = alive.map { flags in flags.indices.filter { flags[$0] } }
    // Input features of a first dense layer that some kept row reads.
    var inputFeatures: [Int]?
    if let first = prunable.first, !first.isConvolution {
      let read = (0..<first.columns).filter { c in keptRows[0].contains { weights[0][$0 * first.columns + c] != 0 } }
      // A layer left reading nothing (its units live on their biases alone) keeps one zero column.
      if read.count < first.columns { inputFeatures = read.isEmpty ? [0] : read }
    }

    var layers: [(String, any Layer)] = []
    var index = 0
    for (name, layer) in network.layers {
      if let bn = layer as? BatchNorm2D, let p = prunable.firstIndex(where: { $0.batchNorm === bn }) {
        layers.append((name, thinnedBatchNorm(bn, keeping: keptRows[p])))
        continue
      }
      guard let p = prunable.firstIndex(where: { $0.name == name }) else {
        layers.append((name, layer))
        if layer is Flatten, let inputFeatures, index == 0 {
          layers.append(("select", SelectFeatures(inputFeatures, of: prunable[0].columns)))
        }
        continue
      }
      index += 1
      let rows = keptRows[p]
      let source = prunable[p]
      // Column blocks kept: the previous layer's kept units (or the selected input features).
      let columnIndices: [Int]
      if p > 0 {
        // keptRows[p − 1] is never empty (thinning throws before), so neither is this.
        let g = group(p)
        columnIndices = keptRows[p - 1].flatMap { u in (u * g)..<((u + 1) * g) }
      } else {
        columnIndices = inputFeatures ?? Array(0..<source.columns)
      }
      var w = [Float](repeating: 0, count: rows.count * columnIndices.count)
      for (ri, r) in rows.enumerated() {
        for (ci, c) in columnIndices.enumerated() { w[ri * columnIndices.count + ci] = weights[p][r * source.columns + c] }
      }
      let b = rows.map { biases[p][$0] }
      let rng = RandomSource(seed: 1)
      let thinned: any Layer
      if let conv = layer as? Conv2D {
        let channels = columnIndices.count / (conv.kernelSize * conv.kernelSize)
        let c = Conv2D(channels, rows.count, kernelSize: conv.kernelSize, stride: conv.stride, padding: conv.padding, bias: conv.hasBias, rng: rng)
        c.weight.value = Tensor(shape: [rows.count, channels, conv.kernelSize, conv.kernelSize], values: w)
        c.bias.value = Tensor(shape: [rows.count], values: b)
        thinned = c
      } else {
        let d = Dense(columnIndices.count, rows.count, rng: rng)
        d.weight.value = Tensor(shape: [rows.count, columnIndices.count], values: w)
        d.bias.value = Tensor(shape: [rows.count], values: b)
        thinned = d
      }
      layers.append((name, thinned))
    }
    let units = prunable.enumerated().map { (name: $1.name, kept: keptRows[$0].count, total: $1.rows) }
    return ThinnedModel(network: Sequential(layers), inputShape: inputShape, units: units, inputFeatures: inputFeatures)
  }

  /// The BatchNorm of the kept channels, in inference form (γ, β, running averages). Every kept
  /// channel is open in the masked model (its filter keeps a weight), so the thinned BatchNorm
  /// closes none: it has no channel source.
  static func thinnedBatchNorm(_ bn: BatchNorm2D, keeping rows: [Int]) -> BatchNorm2D {
    let thinned = BatchNorm2D(rows.count, epsilon: bn.epsilon, momentum: bn.momentum)
    let gamma = bn.weight.effective, beta = bn.bias.effective
    thinned.weight.value = Tensor(shape: [rows.count], values: rows.map { gamma[$0] })
    thinned.bias.value = Tensor(shape: [rows.count], values: rows.map { beta[$0] })
    thinned.runningMean.value = Tensor(shape: [rows.count], values: rows.map { bn.runningMean.value[$0] })
    thinned.runningVariance.value = Tensor(shape: [rows.count], values: rows.map { bn.runningVariance.value[$0] })
    return thinned
  }
}
