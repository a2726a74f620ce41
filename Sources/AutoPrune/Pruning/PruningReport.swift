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
  public struct Layer: Equatable, Sendable {
    public var name: String
    public var weights: Int
    public var keptWeights: Int
    public var flops: Int
    public var keptFLOPs: Int
    public var units: Int
    public var aliveUnits: Int
    public var compression: Double { Double(weights) / Double(max(1, keptWeights)) }
  }

  public var layers: [Layer]
  /// Input features of the first layer that some kept weight still reads.
  public var aliveInputs: Int
  public var inputs: Int
  public var firstLayerIsDense: Bool

  public var weights: Int { layers.reduce(0) { $0 + $1.weights } }
  public var keptWeights: Int { layers.reduce(0) { $0 + $1.keptWeights } }
  public var flops: Int { layers.reduce(0) { $0 + $1.flops } }
  public var keptFLOPs: Int { layers.reduce(0) { $0 + $1.keptFLOPs } }
  public var compression: Double { Double(weights) / Double(max(1, keptWeights)) }
  public var keptFraction: Float { Float(keptWeights) / Float(max(1, weights)) }
  public var flopsFraction: Float { Float(keptFLOPs) / Float(max(1, flops)) }

  /// Surviving widths, e.g. `784-112-43-10` (inputs first for a dense first layer) or
  /// `20-23-310-10` (filters and units of each layer).
  public var architecture: String {
    ((firstLayerIsDense ? [aliveInputs] : []) + layers.map(\.aliveUnits)).map(String.init).joined(separator: "-")
  }

  public init(layers prunable: [PrunableLayer]) { self.init(liveness: ChannelGraph(layers: prunable).liveness()) }

  public init(model: Model) { self.init(layers: PrunableLayer.discover(in: model)) }

  public init(network: Sequential, inputShape: [Int]) { self.init(layers: PrunableLayer.discover(in: network, inputShape: inputShape)) }

  /// The figures of the units `liveness` keeps.
  public init(liveness: Liveness) {
    let prunable = liveness.graph.layers
    layers = prunable.enumerated().map { i, layer in
      let weights = layer.weight.effective.storage
      var kept = 0, alive = 0
      for r in 0..<layer.rows where liveness.unitAlive(i, r) {
        alive += 1
        for c in 0..<layer.columns where weights[r * layer.columns + c] != 0 && liveness.inputAlive(i, feature: c / layer.columnsPerInput) {
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
