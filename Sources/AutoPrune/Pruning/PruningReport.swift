import AutoPruneNN

/// Weights, multiply-adds and surviving units of a (masked) model, per layer and in total.
///
/// A weight counts as kept when its mask is non-zero and the input it reads is alive: a unit
/// whose gate is closed removes its row here and the matching columns of the next layer. A
/// unit is alive when its gate (if any) is open and it keeps at least one weight. Multiply-adds
/// are kept weights times output positions (1 for a dense layer), plus, for a convolution
/// followed by BatchNorm, one per output element of its alive channels (scale and shift);
/// biases are not counted. A channel of a space several layers write (a residual stream) is
/// alive while any of them keeps it.
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

  public init(layers prunable: [PrunableLayer]) {
    // Channel liveness per space (absent: all alive). A chain settles in one forward pass, each
    // space written by one earlier layer; tied spaces (residual streams) are read before their
    // last writer, so the pass repeats until no channel dies (liveness only ever shrinks).
    var spaceAlive: [Int: [Bool]] = [:]
    let settle = prunable.hasTiedSpaces
    var result: [Layer] = []
    var aliveInputs = prunable.first?.inputs ?? 0
    while true {
      result = []
      var rowsAlive: [[Bool]] = []
      var inputsUsed: [Bool]?
      for (index, layer) in prunable.enumerated() {
        let (row, alive, used) = PruningReport.account(
          layer, upstream: spaceAlive[layer.inputSpace], isClassifier: index == prunable.count - 1)
        if layer.readsNetworkInput {
          inputsUsed = zip(inputsUsed ?? used, used).map { $0 || $1 }
        }
        result.append(row)
        rowsAlive.append(alive)
        if !settle { spaceAlive[layer.outputSpace] = alive }
      }
      aliveInputs = inputsUsed.map { $0.filter { $0 }.count } ?? aliveInputs
      guard settle else { break }
      var settled: [Int: [Bool]] = [:]
      for (i, layer) in prunable.enumerated() {
        settled[layer.outputSpace] = zip(settled[layer.outputSpace] ?? rowsAlive[i].map { _ in false }, rowsAlive[i]).map { $0 || $1 }
      }
      if settled == spaceAlive { break }
      spaceAlive = settled
    }
    layers = result
    self.aliveInputs = aliveInputs
    inputs = prunable.first?.inputs ?? 0
    firstLayerIsDense = !(prunable.first?.isConvolution ?? false)
  }

  /// One layer's figures given which channels of its input space are alive (nil: all): the
  /// row, which of its units are alive, and which of its input features some kept weight reads.
  static func account(_ layer: PrunableLayer, upstream: [Bool]?, isClassifier: Bool) -> (Layer, alive: [Bool], inputsUsed: [Bool]) {
    let gate = layer.weight.gate
    let mask = gate?.mask(for: layer.weight)
    let unitGate = gate as? AutoPruneGate
    let rowOpen = unitGate?.outputOpen ?? [Bool](repeating: true, count: layer.rows)
    var inputAlive = [Bool](repeating: true, count: layer.inputs)
    if let upstream {
      for i in 0..<layer.inputs { inputAlive[i] = upstream[i / layer.inputsPerUpstreamUnit] }
    }
    if let open = unitGate?.inputOpen, unitGate?.input != nil {
      for i in 0..<layer.inputs { inputAlive[i] = inputAlive[i] && open[i] }
    }
    var kept = 0
    var alive = [Bool](repeating: false, count: layer.rows)
    var inputUsed = [Bool](repeating: false, count: layer.inputs)
    for r in 0..<layer.rows {
      var rowKept = 0
      var rowInputs: [Int] = []
      for c in 0..<layer.columns where inputAlive[c / layer.columnsPerInput] {
        if mask.map({ $0[r * layer.columns + c] != 0 }) ?? true {
          rowKept += 1
          rowInputs.append(c / layer.columnsPerInput)
        }
      }
      // A channel with BatchNorm after it lives on while its filter keeps any weight, even one
      // reading only dead inputs: BatchNorm turns those zeros into a constant.
      var rowHasWeights = rowKept > 0
      if layer.batchNorm != nil && !rowHasWeights {
        rowHasWeights = (0..<layer.columns).contains { c in mask.map { $0[r * layer.columns + c] != 0 } ?? true }
      }
      // The classifier's outputs are the classes: always there.
      alive[r] = isClassifier || (rowOpen[r] && rowHasWeights)
      if alive[r] {
        kept += rowKept
        for i in rowInputs { inputUsed[i] = true }
      }
    }
    let aliveCount = alive.filter { $0 }.count
    // BatchNorm: one multiply-add per output element of each (alive) channel.
    let perChannel = layer.batchNorm == nil ? 0 : layer.positions
    let row = Layer(
      name: layer.name, weights: layer.rows * layer.columns, keptWeights: kept,
      flops: layer.rows * layer.columns * layer.positions + layer.rows * perChannel,
      keptFLOPs: kept * layer.positions + aliveCount * perChannel, units: layer.rows, aliveUnits: aliveCount)
    return (row, alive, inputUsed)
  }
}
