extension Sequential {
  /// The first place where `inputShape` (one sample, `[C, H, W]` or `[F]`) does not fit the
  /// layers, in words (`fc1 (Dense) takes 800 features, gets 1×32×32 = 1024`); nil when every
  /// layer gets what it takes. Layers trap on a shape they cannot take (a wrong shape would read
  /// outside their buffers), so a network of the caller's own is checked with this first.
  public func shapeProblem(for inputShape: [Int], prefix: String = "") -> String? {
    var shape = inputShape
    let text = { (s: [Int]) in s.map(String.init).joined(separator: "×") }
    func spatial(_ s: [Int], fits kernel: Int, padding: Int = 0) -> Bool {
      s.count == 3 && s[1] + 2 * padding >= kernel && s[2] + 2 * padding >= kernel
    }
    for (name, layer) in layers {
      let label = prefix + name
      guard shape.allSatisfy({ $0 > 0 }) else { return "\(label) gets an empty \(text(shape)) input" }
      switch layer {
      case let dense as Dense where shape.reduce(1, *) != dense.inputSize:
        return "\(label) (Dense) takes \(dense.inputSize) features, gets \(shape.count == 1 ? text(shape) : "\(text(shape)) = \(shape.reduce(1, *))")"
      case let select as SelectFeatures where shape.reduce(1, *) != select.inputSize:
        return "\(label) (SelectFeatures) takes \(select.inputSize) features, gets \(text(shape))"
      case let conv as Conv2D where shape.count != 3 || shape[0] != conv.inputChannels || !spatial(shape, fits: conv.kernelSize, padding: conv.padding):
        return "\(label) (Conv2D \(conv.inputChannels)→\(conv.outputChannels), \(conv.kernelSize)×\(conv.kernelSize)) gets \(text(shape))"
      case let depthwise as DepthwiseConv2D where shape.count != 3 || shape[0] != depthwise.channels || !spatial(shape, fits: depthwise.kernelSize, padding: depthwise.padding):
        return "\(label) (DepthwiseConv2D of \(depthwise.channels) channels, \(depthwise.kernelSize)×\(depthwise.kernelSize)) gets \(text(shape))"
      case is AdaptiveAvgPool2D where shape.count != 3:
        return "\(label) (AdaptiveAvgPool2D) gets \(text(shape)), not channels × height × width"
      case let norm as BatchNorm2D where shape.count != 3 || shape[0] != norm.channels:
        return "\(label) (BatchNorm2D of \(norm.channels) channels) gets \(text(shape))"
      case let pool as MaxPool2D where !spatial(shape, fits: pool.kernelSize, padding: pool.padding):
        return "\(label) (MaxPool2D \(pool.kernelSize)×\(pool.kernelSize)) gets \(text(shape))"
      case let pool as AvgPool2D where !spatial(shape, fits: pool.kernelSize):
        return "\(label) (AvgPool2D \(pool.kernelSize)×\(pool.kernelSize)) gets \(text(shape))"
      case is GlobalAvgPool2D where shape.count != 3:
        return "\(label) (GlobalAvgPool2D) gets \(text(shape)), not channels × height × width"
      case let block as Residual:
        if let problem = block.body.shapeProblem(for: shape, prefix: label + ".") { return problem }
        if let problem = block.shortcut?.shapeProblem(for: shape, prefix: label + ".") { return problem }
        let main = block.body.outputShape(for: shape), side = block.shortcut?.outputShape(for: shape) ?? shape
        if main != side { return "\(label) (Residual) adds \(text(main)) to a shortcut of \(text(side))" }
      case let join as Concatenation:
        for branch in join.branches {
          if let problem = branch.network.shapeProblem(for: shape, prefix: label + ".") { return problem }
        }
        let shapes = join.branchShapes(for: shape)
        if shapes.contains(where: { $0.count != shapes[0].count || $0.dropFirst() != shapes[0].dropFirst() }) {
          return "\(label) (Concatenation) joins \(shapes.map(text).joined(separator: ", ")), which differ after the channels"
        }
      case let nested as Sequential:
        if let problem = nested.shapeProblem(for: shape, prefix: label + ".") { return problem }
      default: break
      }
      shape = layer.outputShape(for: shape)
    }
    return nil
  }
}
