import AutoPruneKernels

/// Average pooling over NCHW images with a square window and no padding, like
/// `nn.AvgPool2d(k, stride: s)`: `[N, C, H, W] → [N, C, (H − k)/s + 1, (W − k)/s + 1]`.
public final class AvgPool2D: Layer {
  /// Side k of the square window, in pixels.
  public let kernelSize: Int
  /// Step between windows; `kernelSize` unless given (windows that do not overlap).
  public let stride: Int
  private var inputShape: [Int] = []

  /// `stride` nil means `kernelSize`, as PyTorch defaults. There is no padding: rows and columns
  /// that do not fill a last window are dropped.
  public init(_ kernelSize: Int, stride: Int? = nil) {
    precondition(kernelSize > 0, "AvgPool2D needs a positive kernel size")
    self.kernelSize = kernelSize
    self.stride = stride ?? kernelSize
  }

  public func outputShape(for s: [Int]) -> [Int] {
    precondition(s.count == 3 && s[1] >= kernelSize && s[2] >= kernelSize, "AvgPool2D(\(kernelSize)) got per-sample input \(s)")
    return [s[0], (s[1] - kernelSize) / stride + 1, (s[2] - kernelSize) / stride + 1]
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    precondition(x.shape.count == 4, "AvgPool2D expects NCHW input, got \(x.shape)")
    let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    let out = outputShape(for: Array(x.shape.dropFirst()))
    let (oh, ow, k, s) = (out[1], out[2], kernelSize, stride)
    let scale = 1 / Float(k * k)
    inputShape = x.shape
    var y = Tensor(shape: [x.shape[0], x.shape[1], oh, ow])
    x.withPointer { xp in
      y.withMutablePointer { yp in
        let src = SharedPointer(UnsafeMutablePointer(mutating: xp)), dst = SharedPointer(yp)
        Parallel.forRanges(planes, minPerThread: 16) { range in
          for p in range {
            for oy in 0..<oh {
              for ox in 0..<ow {
                var sum: Float = 0
                for ky in 0..<k {
                  let row = (p * h + oy * s + ky) * w + ox * s
                  for kx in 0..<k { sum += src[row + kx] }
                }
                dst[(p * oh + oy) * ow + ox] = sum * scale
              }
            }
          }
        }
      }
    }
    return y
  }

  public func backward(_ dY: Tensor) -> Tensor {
    let (planes, h, w) = (inputShape[0] * inputShape[1], inputShape[2], inputShape[3])
    let (oh, ow, k, s) = (dY.shape[2], dY.shape[3], kernelSize, stride)
    let scale = 1 / Float(k * k)
    var dX = Tensor(shape: inputShape)
    dY.withPointer { gp in
      dX.withMutablePointer { xp in
        let g = SharedPointer(UnsafeMutablePointer(mutating: gp)), dx = SharedPointer(xp)
        Parallel.forRanges(planes, minPerThread: 16) { range in
          for p in range {
            for oy in 0..<oh {
              for ox in 0..<ow {
                let share = g[(p * oh + oy) * ow + ox] * scale
                for ky in 0..<k {
                  let row = (p * h + oy * s + ky) * w + ox * s
                  for kx in 0..<k { dx[row + kx] += share }
                }
              }
            }
          }
        }
      }
    }
    return dX
  }
}

/// Mean over each channel's whole plane, like `nn.AdaptiveAvgPool2d(1)` followed by a flatten:
/// `[N, C, H, W] → [N, C]`.
public final class GlobalAvgPool2D: Layer {
  private var inputShape: [Int] = []

  /// No settings: the window is the whole plane, whatever its size.
  public init() {}

  public func outputShape(for s: [Int]) -> [Int] { [s[0]] }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    precondition(x.shape.count == 4, "GlobalAvgPool2D expects NCHW input, got \(x.shape)")
    inputShape = x.shape
    let planes = x.shape[0] * x.shape[1], size = x.shape[2] * x.shape[3]
    var y = Tensor(shape: [x.shape[0], x.shape[1]])
    x.withPointer { xp in
      for p in 0..<planes {
        var sum: Float = 0
        for i in 0..<size { sum += xp[p * size + i] }
        y[p] = sum / Float(size)
      }
    }
    return y
  }

  public func backward(_ dY: Tensor) -> Tensor {
    let planes = inputShape[0] * inputShape[1], size = inputShape[2] * inputShape[3]
    var dX = Tensor(shape: inputShape)
    dX.withMutablePointer { xp in
      for p in 0..<planes {
        let share = dY[p] / Float(size)
        for i in 0..<size { xp[p * size + i] = share }
      }
    }
    return dX
  }
}
