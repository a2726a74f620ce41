import AutoPruneNN

/// The channels of a network and the layers that write and read them, built once from its
/// layer tree: every Dense and Conv2D (`PrunableLayer`, in forward order) with the channel
/// space it writes and the one it reads, residual additions tying the spaces they sum. Which
/// units are alive is decided here, by one rule, for accounting (`PruningReport`), thinning,
/// sparse inference and export alike, so the report and the thinned network agree on every unit.
public struct ChannelGraph {
  /// Every Dense and Conv2D layer in forward order, with the channel spaces it writes and reads.
  public let layers: [PrunableLayer]
  /// Space → indices of the layers writing it (several for a residual stream).
  public let writers: [Int: [Int]]
  /// Space → indices of the layers reading it.
  public let readers: [Int: [Int]]

  /// The graph of `model`'s layers.
  public init(model: Model) { self.init(layers: PrunableLayer.discover(in: model)) }

  /// The graph of `network`'s layers (per-sample input `inputShape`).
  public init(network: Sequential, inputShape: [Int]) {
    self.init(layers: PrunableLayer.discover(in: network, inputShape: inputShape))
  }

  /// The graph of layers from `PrunableLayer.discover` (spaces already merged).
  public init(layers: [PrunableLayer]) {
    self.layers = layers
    var writers: [Int: [Int]] = [:], readers: [Int: [Int]] = [:]
    for (i, layer) in layers.enumerated() {
      writers[layer.outputSpace, default: []].append(i)
      readers[layer.inputSpace, default: []].append(i)
    }
    self.writers = writers
    self.readers = readers
  }

  /// The last layer: its outputs are the classes, always alive.
  public var classifier: Int { layers.count - 1 }

  /// Columns of layer `i` per channel of its input space (kernel area, times the spatial size
  /// a Flatten folded in).
  public func columnsPerChannel(_ i: Int) -> Int { layers[i].columnsPerInput * layers[i].inputsPerUpstreamUnit }

  /// Which units are alive under the layers' current effective (masked) weights.
  ///
  /// A channel is alive when something reaches the output through it: some layer writing it
  /// puts a value into it (a non-zero weight on a live input, or a non-zero constant: its bias,
  /// or what the BatchNorm after it makes of a zero — ReLU and pooling keep a constant a
  /// constant), and some live unit of a layer reading it has a non-zero weight on it. A channel
  /// a BatchNorm closes (`BatchNorm2D.channelSource`: its filter has no weight left) writes
  /// nothing. Removing a channel
  /// can kill others upstream and downstream, so the rule repeats until nothing changes. A
  /// channel of a residual stream is one channel of all its writers: alive while any writes it.
  public func liveness() -> Liveness {
    let weights = layers.map { $0.weight.effective.storage }
    let biases = layers.map { $0.bias.effective.storage }
    var alive: [Int: [Bool]] = [:]
    for (i, layer) in layers.enumerated() where i != classifier { alive[layer.outputSpace] = [Bool](repeating: true, count: layer.rows) }
    if classifier >= 0 { alive[layers[classifier].outputSpace] = nil }
    for layer in layers where layer.outputPinned { alive[layer.outputSpace] = nil }  // kept whole
    func rowAlive(_ i: Int, _ r: Int) -> Bool { i == classifier || alive[layers[i].outputSpace]?[r] ?? true }
    // A BatchNorm after a convolution, in inference form (closed channels at zero scale and
    // shift): unit r outputs scale·(its weighted inputs + bias) + shift.
    let affine = layers.map { $0.batchNorm?.inferenceScaleShift }
    func writes(_ i: Int, _ r: Int) -> Bool {
      let layer = layers[i], row = r * layer.columns
      let (scale, shift) = affine[i].map { ($0.scale[r], $0.shift[r]) } ?? (1, 0)
      // What it outputs when every input it reads is zero: a constant that still feeds on.
      if scale * biases[i][r] + shift != 0 { return true }
      guard scale != 0 else { return false }
      if layer.isDepthwise {
        // It reads the channel as the layers before it wrote it (it shares their space): with
        // none of them writing channel r, its taps see zeros.
        let feeders = (writers[layer.inputSpace] ?? []).filter { !layers[$0].isDepthwise }
        let fed = feeders.isEmpty ? true : feeders.contains { writes($0, r) }
        return fed && (0..<layer.columns).contains { weights[i][row + $0] != 0 }
      }
      let upstream = alive[layer.inputSpace], g = columnsPerChannel(i)
      return (0..<layer.columns).contains { c in weights[i][row + c] != 0 && (upstream?[c / g] ?? true) }
    }
    func read(_ space: Int, _ channel: Int) -> Bool {
      // A depthwise layer's output stays in the space: the layers reading the space after it
      // decide whether the channel is read (only with none of those does its own row count).
      let all = readers[space] ?? [], plain = all.filter { !layers[$0].isDepthwise }
      for j in plain.isEmpty ? all : plain {
        let next = layers[j], g = columnsPerChannel(j)
        if next.isDepthwise {
          if rowAlive(j, channel), (0..<next.columns).contains(where: { weights[j][channel * next.columns + $0] != 0 }) { return true }
          continue
        }
        for o in 0..<next.rows where rowAlive(j, o) {
          let row = o * next.columns
          if ((channel * g)..<((channel + 1) * g)).contains(where: { weights[j][row + $0] != 0 }) { return true }
        }
      }
      return false
    }
    // In a space a depthwise layer works in, what the layers after it read is its output (which
    // `writes` derives from the layers feeding it): it alone decides whether the channel is written.
    let effectiveWriters = writers.mapValues { found in
      found.contains { layers[$0].isDepthwise } ? found.filter { layers[$0].isDepthwise } : found
    }
    var changed = true
    while changed {
      changed = false
      for space in alive.keys.sorted() {
        for channel in alive[space]!.indices where alive[space]![channel] {
          if !(effectiveWriters[space]!.contains { writes($0, channel) } && read(space, channel)) {
            alive[space]![channel] = false
            changed = true
          }
        }
      }
    }
    // Input features of the layers reading the network's input that a live unit still reads.
    var inputsRead: [Bool]?
    for i in readers[PrunableLayer.networkInput] ?? [] {
      let layer = layers[i]
      var used = inputsRead ?? [Bool](repeating: false, count: layer.inputs)
      guard used.count == layer.inputs else { continue }
      for r in 0..<layer.rows where rowAlive(i, r) {
        for c in 0..<layer.columns where weights[i][r * layer.columns + c] != 0 { used[layer.input(row: r, column: c)] = true }
      }
      inputsRead = used
    }
    return Liveness(graph: self, channels: alive, inputsRead: inputsRead ?? [])
  }
}

/// The alive units of a `ChannelGraph` under its current masks.
public struct Liveness {
  /// The graph the liveness was computed on.
  public let graph: ChannelGraph
  /// Space → alive channels, for every space but the network input and the classes.
  public let channels: [Int: [Bool]]
  /// Input features a live unit reads (of the layers reading the network's input).
  public let inputsRead: [Bool]

  /// Whether unit `r` of layer `i` is alive (every class is).
  public func unitAlive(_ i: Int, _ r: Int) -> Bool {
    i == graph.classifier || channels[graph.layers[i].outputSpace]?[r] ?? true
  }

  /// Whether input feature `c` of layer `i` comes from an alive channel.
  public func inputAlive(_ i: Int, feature c: Int) -> Bool {
    let layer = graph.layers[i]
    return channels[layer.inputSpace]?[c / layer.inputsPerUpstreamUnit] ?? true
  }

  /// Indices of the alive units of layer `i`, in order.
  public func aliveUnits(_ i: Int) -> [Int] { (0..<graph.layers[i].rows).filter { unitAlive(i, $0) } }
}
