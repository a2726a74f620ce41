/// Average pooling to a fixed output size, `nn.AdaptiveAvgPool2d((oh, ow))`: output cell
/// `(i, j)` averages input rows `⌊i·H/oh⌋ ..< ⌈(i+1)·H/oh⌉` and the matching columns, PyTorch's
/// bins (they overlap when the size does not divide). AlexNet's `(6, 6)` before its classifier
/// lets one network take 224 × 224 and smaller images alike.
public final class AdaptiveAvgPool2D: Layer {
  /// Output height and width.
  public let outputHeight: Int
  public let outputWidth: Int
  private var inputShape: [Int] = []

  /// Traps unless both sizes are positive.
  public init(_ outputHeight: Int, _ outputWidth: Int) {
    precondition(outputHeight > 0 && outputWidth > 0, "AdaptiveAvgPool2D needs a positive output size")
    self.outputHeight = outputHeight
    self.outputWidth = outputWidth
  }

  public func outputShape(for s: [Int]) -> [Int] {
    precondition(s.count == 3, "AdaptiveAvgPool2D got per-sample input \(s)")
    return [s[0], outputHeight, outputWidth]
  }

  /// The input range of output index `i` of `out` over `size` inputs.
  static func bin(_ i: Int, out: Int, size: Int) -> Range<Int> { (i * size / out)..<(((i + 1) * size + out - 1) / out) }

  /// Visits every output cell of an input `[N, C, h, w]`: its flat index, and the flat input
  /// indices of its bin (the walk forward sums over and backward spreads back over).
  private func forEachCell(of shape: [Int], _ body: (_ output: Int, _ inputs: [Int]) -> Void) {
    let (planes, h, w, oh, ow) = (shape[0] * shape[1], shape[2], shape[3], outputHeight, outputWidth)
    for p in 0..<planes {
      for i in 0..<oh {
        let rows = AdaptiveAvgPool2D.bin(i, out: oh, size: h)
        for j in 0..<ow {
          let columns = AdaptiveAvgPool2D.bin(j, out: ow, size: w)
          body((p * oh + i) * ow + j, rows.flatMap { r in columns.map { (p * h + r) * w + $0 } })
        }
      }
    }
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    precondition(x.shape.count == 4, "AdaptiveAvgPool2D expects NCHW input, got \(x.shape)")
    inputShape = x.shape
    var y = Tensor(shape: [x.shape[0], x.shape[1], outputHeight, outputWidth])
    x.withPointer { xp in
      y.withMutablePointer { yp in
        forEachCell(of: x.shape) { o, inputs in
          var sum: Float = 0
          for k in inputs { sum += xp[k] }
          yp[o] = sum / Float(inputs.count)
        }
      }
    }
    return y
  }

  public func backward(_ dY: Tensor) -> Tensor {
    var dX = Tensor(shape: inputShape)
    dY.withPointer { gp in
      dX.withMutablePointer { dp in
        forEachCell(of: inputShape) { o, inputs in
          let share = gp[o] / Float(inputs.count)
          for k in inputs { dp[k] += share }
        }
      }
    }
    return dX
  }
}
