import AutoPruneNN

/// A Dense or Conv2D layer of a model seen as a prunable matrix `rows × columns`, with where its
/// inputs come from (for unit pruning, accounting and thinning).
///
/// Channel spaces say which outputs feed which inputs. Every layer writes its `rows` units into
/// its `outputSpace` and reads its inputs from `inputSpace`. In a chain each layer has a space of
/// its own, read by the next layer. A residual addition sums the block's output with its
/// shortcut, so the layers writing either side (the stem or a projection and every block's last
/// convolution of a ResNet stage) share one space: channel `c` of all of them is one channel,
/// alive while any of them feeds it, and removable only from all of them at once.
public struct PrunableLayer {
  /// The space of the network's input (never pruned; a first dense layer selects features instead).
  public static let networkInput = 0

  /// The layer's parameter prefix (`fc1`, `layer1.0.conv1`), the name gates and reports use.
  public let name: String
  /// `W`, `[rows, columns]` for a dense layer, `[rows, inputs, k, k]` for a convolution.
  public let weight: Parameter
  /// One per unit; for a convolution built without a bias, a zero vector that is not a parameter.
  public let bias: Parameter
  /// Output units (neurons or filters).
  public let rows: Int
  /// Weights per unit (inputs × kernel area).
  public let columns: Int
  /// Input features (Dense inputs or conv input channels).
  public let inputs: Int
  /// Columns per input feature (kernel area for a conv, 1 for a dense layer).
  public let columnsPerInput: Int
  /// Output positions per sample (1 for a dense layer): multiply-adds = weights × positions.
  public let positions: Int
  /// Input features per channel of `inputSpace` (spatial size after a Flatten, else 1).
  public let inputsPerUpstreamUnit: Int
  /// True for a Conv2D (then `columnsPerInput` is the kernel area), false for a Dense layer.
  public let isConvolution: Bool
  /// A depthwise convolution: row r (channel r's k × k filter) reads input channel r alone, and
  /// its output space is its input space (channel r in and out is one channel, kept or removed
  /// together with the layer feeding it).
  public var isDepthwise = false
  /// The BatchNorm right after this convolution, if any: it costs one multiply-add per output
  /// element, and closes the channels of pruned filters when this layer's weight is its
  /// `BatchNorm2D.channelSource`.
  public var batchNorm: BatchNorm2D?
  /// The channel space this layer's units write (shared by layers a residual addition ties).
  public var outputSpace: Int
  /// The channel space its inputs come from (`networkInput` for the network's input).
  public var inputSpace: Int
  /// Its output space feeds or comes out of a `Concatenation`, which the channel graph does not
  /// follow yet: its units are kept whole (always alive, never thinned, no unit gate).
  public var outputPinned = false

  /// True when the layer reads the network's input (pixels or, after a Flatten, features).
  public var readsNetworkInput: Bool { inputSpace == PrunableLayer.networkInput }

  /// The input feature weight `column` of row `row` reads.
  public func input(row: Int, column: Int) -> Int { isDepthwise ? row : column / columnsPerInput }

  /// The prunable layers of `model` in forward order.
  public static func discover(in model: Model) -> [PrunableLayer] {
    discover(in: model.network, inputShape: model.inputShape)
  }

  /// The prunable layers of `network` (per-sample input `inputShape`) in forward order, a
  /// residual block's body before its shortcut, named by their parameters' prefix
  /// (`layer1.0.conv1`).
  public static func discover(in network: Sequential, inputShape: [Int]) -> [PrunableLayer] {
    var walk = DiscoveryWalk()
    var state = DiscoveryWalk.Position(shape: inputShape, space: networkInput)
    walk.visit(network, prefix: "", at: &state)
    return walk.finished()
  }
}

/// The walk behind `PrunableLayer.discover`: follows shapes through a network (residual blocks
/// included), records each Dense and Conv2D, and merges the spaces a residual addition ties.
struct DiscoveryWalk {
  struct Position {
    var shape: [Int]
    var space: Int
    /// Spatial size flattened since the last prunable layer (1 when none was).
    var flattenedSpatial = 1
    /// The layer just visited was a convolution (a BatchNorm now is its).
    var lastWasConvolution = false
  }

  private var layers: [PrunableLayer] = []
  /// Union–find over spaces; 0 is the network input.
  private var parent = [0]
  /// Spaces a concatenation joins or makes (see `PrunableLayer.outputPinned`).
  private var pinned: [Int] = []

  private mutating func newSpace() -> Int {
    parent.append(parent.count)
    return parent.count - 1
  }

  private mutating func find(_ s: Int) -> Int {
    var s = s
    while parent[s] != s {
      parent[s] = parent[parent[s]]
      s = parent[s]
    }
    return s
  }

  /// Merges two spaces; the network input absorbs any space tied to it (it cannot be pruned).
  private mutating func union(_ a: Int, _ b: Int) -> Int {
    let (ra, rb) = (find(a), find(b))
    if ra == rb { return ra }
    let root = min(ra, rb)
    parent[max(ra, rb)] = root
    return root
  }

  mutating func visit(_ network: Sequential, prefix: String, at position: inout Position) {
    for (name, layer) in network.layers {
      let fullName = prefix + name
      let input = position.shape
      if let block = layer as? Residual {
        var body = position
        visit(block.body, prefix: fullName + ".", at: &body)
        var side = position
        if let shortcut = block.shortcut { visit(shortcut, prefix: fullName + ".", at: &side) }
        position.shape = layer.outputShape(for: input)
        position.space = union(body.space, side.space)
        position.flattenedSpatial = 1
        position.lastWasConvolution = false  // a BatchNorm after the block normalises the sum
        continue
      }
      if let join = layer as? Concatenation {
        for branch in join.branches {
          var inner = position
          visit(branch.network, prefix: fullName + ".", at: &inner)
          pinned.append(inner.space)
        }
        position.shape = layer.outputShape(for: input)
        position.space = newSpace()
        pinned.append(position.space)
        position.flattenedSpatial = 1
        position.lastWasConvolution = false
        continue
      }
      position.shape = layer.outputShape(for: input)
      // A BatchNorm belongs to the convolution right before it (the one whose filters it
      // closes, or, in a thinned network, the one whose channels it scales).
      let previous = layers.count - 1
      defer { position.lastWasConvolution = layer is Conv2D || layer is DepthwiseConv2D }
      if let bn = layer as? BatchNorm2D, position.lastWasConvolution, layers[previous].rows == bn.channels, layers[previous].batchNorm == nil {
        layers[previous].batchNorm = bn
      } else if layer is Flatten {
        position.flattenedSpatial = input.count == 3 ? input[1] * input[2] : 1
      } else if let dense = layer as? Dense {
        let space = newSpace()
        layers.append(PrunableLayer(
          name: fullName, weight: dense.weight, bias: dense.bias, rows: dense.outputSize, columns: dense.inputSize,
          inputs: dense.inputSize, columnsPerInput: 1, positions: 1,
          inputsPerUpstreamUnit: position.space == PrunableLayer.networkInput ? 1 : position.flattenedSpatial,
          isConvolution: false, outputSpace: space, inputSpace: position.space))
        position.space = space
        position.flattenedSpatial = 1
      } else if let depthwise = layer as? DepthwiseConv2D {
        // Channel c in is channel c out: the layer reads and writes the space it is in.
        var row = PrunableLayer(
          name: fullName, weight: depthwise.weight, bias: depthwise.bias, rows: depthwise.channels,
          columns: depthwise.kernelSize * depthwise.kernelSize, inputs: depthwise.channels,
          columnsPerInput: depthwise.kernelSize * depthwise.kernelSize, positions: position.shape[1] * position.shape[2],
          inputsPerUpstreamUnit: 1, isConvolution: true, outputSpace: position.space, inputSpace: position.space)
        row.isDepthwise = true
        layers.append(row)
        position.flattenedSpatial = 1
      } else if let conv = layer as? Conv2D {
        let area = conv.kernelSize * conv.kernelSize
        let space = newSpace()
        layers.append(PrunableLayer(
          name: fullName, weight: conv.weight, bias: conv.bias, rows: conv.outputChannels, columns: conv.inputChannels * area,
          inputs: conv.inputChannels, columnsPerInput: area, positions: position.shape[1] * position.shape[2],
          inputsPerUpstreamUnit: 1, isConvolution: true, outputSpace: space, inputSpace: position.space))
        position.space = space
        position.flattenedSpatial = 1
      }
    }
  }

  /// The layers with every space replaced by its merged representative.
  mutating func finished() -> [PrunableLayer] {
    var result = layers
    let pinnedRoots = Set(pinned.map { find($0) })
    for i in result.indices {
      result[i].outputSpace = find(result[i].outputSpace)
      result[i].inputSpace = find(result[i].inputSpace)
      result[i].outputPinned = pinnedRoots.contains(result[i].outputSpace)
    }
    return result
  }
}
