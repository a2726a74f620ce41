import AutoPruneNN

/// Weights, multiply-adds and surviving units of a (masked) model, per layer and in total.
///
/// Units are alive by the `ChannelGraph`'s rule (`ChannelGraph.liveness()`), the one thinning
/// removes units by, so this report and the thinned network agree on every unit. A weight
/// counts as kept when it is non-zero (mask applied), its unit is alive and the input it
/// reads is alive. Multiply-adds are kept weights times output positions (1 for a dense
/// layer), plus, for a convolution followed by BatchNorm, one per output element of its alive
/// channels (scale and shift); biases are not counted.
public struct PruningReport: Equatable, Sendable {
  /// One prunable layer's row of the report.
  public struct Layer: Equatable, Sendable {
    /// The layer's parameter prefix (`fc1`).
    public var name: String
    /// Weights of the layer, rows × columns (biases not counted).
    public var weights: Int
    /// Weights non-zero after masking, of an alive unit, reading an alive input.
    public var keptWeights: Int
    /// Dense multiply-adds per sample, a following BatchNorm's included.
    public var flops: Int
    /// Multiply-adds per sample left: kept weights × positions, plus the BatchNorm's of alive
    /// channels.
    public var keptFLOPs: Int
    /// Output units: neurons or filters.
    public var units: Int
    /// Units alive by `ChannelGraph`'s rule.
    public var aliveUnits: Int
    /// `weights / keptWeights` (kept floored at 1, so a layer pruned to nothing reads `weights`).
    public var compression: Double { Double(weights) / Double(max(1, keptWeights)) }
  }

  /// One row per prunable layer, in forward order.
  public var layers: [Layer]
  /// Input features of the first layer that some kept weight still reads.
  public var aliveInputs: Int
  /// Input features of the first layer (pixels for a dense first layer, channels for a conv).
  public var inputs: Int
  /// True when the first prunable layer is dense: `architecture` then starts with `aliveInputs`.
  public var firstLayerIsDense: Bool

  /// Weights of every prunable layer (biases not counted).
  public var weights: Int { layers.reduce(0) { $0 + $1.weights } }
  /// Weights kept over every prunable layer.
  public var keptWeights: Int { layers.reduce(0) { $0 + $1.keptWeights } }
  /// Dense multiply-adds per sample.
  public var flops: Int { layers.reduce(0) { $0 + $1.flops } }
  /// Multiply-adds per sample of the pruned network.
  public var keptFLOPs: Int { layers.reduce(0) { $0 + $1.keptFLOPs } }
  /// `weights / keptWeights` (≥ 1): the paper's compression ratio.
  public var compression: Double { Double(weights) / Double(max(1, keptWeights)) }
  /// `keptWeights / weights`, in [0, 1]: what a weight target is measured against.
  public var keptFraction: Float { Float(keptWeights) / Float(max(1, weights)) }
  /// `keptFLOPs / flops`, in [0, 1]: what a FLOPs target is measured against.
  public var flopsFraction: Float { Float(keptFLOPs) / Float(max(1, flops)) }

  /// Surviving widths, e.g. `784-112-43-10` (inputs first for a dense first layer) or
  /// `20-23-310-10` (filters and units of each layer).
  public var architecture: String {
    ((firstLayerIsDense ? [aliveInputs] : []) + layers.map(\.aliveUnits)).map(String.init).joined(separator: "-")
  }

  /// The figures of `prunable` (from `PrunableLayer.discover`) under their current masks.
  public init(layers prunable: [PrunableLayer]) { self.init(liveness: ChannelGraph(layers: prunable).liveness()) }

  /// The figures of `model` under its current masks.
  public init(model: Model) { self.init(layers: PrunableLayer.discover(in: model)) }

  /// The figures of `network` (per-sample input `inputShape`) under its current masks.
  public init(network: Sequential, inputShape: [Int]) { self.init(layers: PrunableLayer.discover(in: network, inputShape: inputShape)) }

  /// The figures of the units `liveness` keeps.
  public init(liveness: Liveness) {
    let prunable = liveness.graph.layers
    layers = prunable.enumerated().map { i, layer in
      let weights = layer.weight.effective.storage
      var kept = 0, alive = 0
      for r in 0..<layer.rows where liveness.unitAlive(i, r) {
        alive += 1
        for c in 0..<layer.columns where weights[r * layer.columns + c] != 0 && liveness.inputAlive(i, feature: layer.input(row: r, column: c)) {
          kept += 1
        }
      }
      // BatchNorm: one multiply-add per output element of each (alive) channel.
      let perChannel = layer.batchNorm == nil ? 0 : layer.positions
      return Layer(
        name: layer.name, weights: layer.rows * layer.columns, keptWeights: kept,
        flops: layer.rows * layer.columns * layer.positions + layer.rows * perChannel,
        keptFLOPs: kept * layer.positions + alive * perChannel, units: layer.rows, aliveUnits: alive)
    }
    aliveInputs = liveness.inputsRead.filter { $0 }.count
    inputs = prunable.first?.inputs ?? 0
    firstLayerIsDense = !(prunable.first?.isConvolution ?? false)
  }
}
