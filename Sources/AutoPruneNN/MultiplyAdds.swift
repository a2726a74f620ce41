extension Sequential {
  /// Multiply-adds of one forward pass of one sample of shape `inputShape`: convolutions
  /// (depthwise ones included) and dense layers, the way published model sizes count them
  /// (ResNet-50's 4.1 G at 224 × 224); BatchNorm, activations, pooling and additions are left out.
  public func multiplyAdds(for inputShape: [Int]) -> Int {
    var shape = inputShape, total = 0
    for (_, layer) in layers {
      let output = layer.outputShape(for: shape)
      switch layer {
      case let conv as Conv2D: total += output.reduce(1, *) * conv.inputChannels * conv.kernelSize * conv.kernelSize
      case let depthwise as DepthwiseConv2D: total += output.reduce(1, *) * depthwise.kernelSize * depthwise.kernelSize
      case let dense as Dense: total += dense.inputSize * dense.outputSize
      case let block as Residual: total += block.body.multiplyAdds(for: shape) + (block.shortcut?.multiplyAdds(for: shape) ?? 0)
      case let nested as Sequential: total += nested.multiplyAdds(for: shape)
      default: break
      }
      shape = output
    }
    return total
  }
}
