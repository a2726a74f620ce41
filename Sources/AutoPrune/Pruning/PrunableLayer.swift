import AutoPruneNN

/// A Dense or Conv2D layer of a model seen as a prunable matrix `rows × columns`, with where its
/// inputs come from (for unit pruning and accounting).
public struct PrunableLayer {
  public let name: String
  public let weight: Parameter
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
  /// Input features per unit of the previous prunable layer (spatial size after a Flatten).
  public let inputsPerUpstreamUnit: Int
  public let isConvolution: Bool
  /// The BatchNorm right after this convolution, if any: it closes the channels of pruned
  /// filters (`BatchNorm2D.channelSource`) and costs one multiply-add per output element.
  public var batchNorm: BatchNorm2D?

  /// The prunable layers of `model` in forward order.
  public static func discover(in model: Model) -> [PrunableLayer] {
    discover(in: model.network, inputShape: model.inputShape)
  }

  /// The prunable layers of `network` (per-sample input `inputShape`) in forward order.
  public static func discover(in network: Sequential, inputShape: [Int]) -> [PrunableLayer] {
    var shape = inputShape
    var result: [PrunableLayer] = []
    var spatialBeforeFlatten = 1
    var flattenedSinceLastLayer = false
    for (name, layer) in network.layers {
      if let bn = layer as? BatchNorm2D, let last = result.indices.last, result[last].isConvolution, result[last].batchNorm == nil,
        bn.channelSource === result[last].weight
      {
        result[last].batchNorm = bn
      }
      let input = shape
      shape = layer.outputShape(for: shape)
      if layer is Flatten {
        spatialBeforeFlatten = input.count == 3 ? input[1] * input[2] : 1
        flattenedSinceLastLayer = true
      } else if let dense = layer as? Dense {
        result.append(PrunableLayer(
          name: name, weight: dense.weight, bias: dense.bias, rows: dense.outputSize, columns: dense.inputSize,
          inputs: dense.inputSize, columnsPerInput: 1, positions: 1,
          inputsPerUpstreamUnit: flattenedSinceLastLayer && !result.isEmpty ? spatialBeforeFlatten : 1, isConvolution: false))
        flattenedSinceLastLayer = false
      } else if let conv = layer as? Conv2D {
        let area = conv.kernelSize * conv.kernelSize
        result.append(PrunableLayer(
          name: name, weight: conv.weight, bias: conv.bias, rows: conv.outputChannels, columns: conv.inputChannels * area,
          inputs: conv.inputChannels, columnsPerInput: area, positions: shape[1] * shape[2], inputsPerUpstreamUnit: 1,
          isConvolution: true))
        flattenedSinceLastLayer = false
      }
    }
    return result
  }
}
