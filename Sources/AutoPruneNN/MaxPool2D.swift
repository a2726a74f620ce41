import AutoPruneKernels

/// Max pooling over NCHW images with a square window, like `nn.MaxPool2d(k, stride: s)`.
///
/// Shapes: x is `[N, C, H, W]`, y is `[N, C, OH, OW]` with `OH = (H − k) / s + 1`.
/// Ties go to the first maximum in row-major window order, as in PyTorch.
public final class MaxPool2D: Layer {
  /// Side k of the square window, in pixels.
  public let kernelSize: Int
  /// Step between windows; `kernelSize` unless given (windows that do not overlap).
  public let stride: Int
  private var argmax: [Int32] = []
  private var inputShape: [Int] = []

  /// `stride` nil means `kernelSize`, as PyTorch defaults. There is no padding: rows and columns
  /// that do not fill a last window are dropped.
  public init(_ kernelSize: Int, stride: Int? = nil) {
    precondition(kernelSize > 0 && (stride ?? kernelSize) > 0, "MaxPool2D: kernel size and stride must be positive")
    self.kernelSize = kernelSize
    self.stride = stride ?? kernelSize
  }

  public func outputShape(for s: [Int]) -> [Int] {
    [s[0], (s[1] - kernelSize) / stride + 1, (s[2] - kernelSize) / stride + 1]
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    precondition(x.shape.count == 4, "MaxPool2D expects NCHW input, got \(x.shape)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let out = outputShape(for: [c, h, w])
    let (oh, ow) = (out[1], out[2])
    var y = Tensor(shape: [n, c, oh, ow])
    var indices = [Int32](repeating: 0, count: y.count)
    let k = kernelSize, s = stride
    x.withPointer { xp in
      y.withMutablePointer { yp in
        indices.withUnsafeMutableBufferPointer { ip in
          let src = SharedPointer(UnsafeMutablePointer(mutating: xp))
          let dst = SharedPointer(yp)
          let idx = SharedPointer(ip.baseAddress!)
          Parallel.forRanges(n * c, minPerThread: 16) { planes in
            for plane in planes {
              let base = plane * h * w
              if k == 2 && s == 2 {
                // The LeNet case: two rows, two columns, unrolled (same tie rule: first max).
                for oy in 0..<oh {
                  let top = base + 2 * oy * w
                  for ox in 0..<ow {
                    var bestIndex = top + 2 * ox
                    var best = src[bestIndex]
                    @inline(__always) func consider(_ candidate: Int) {
                      if src[candidate] > best {
                        best = src[candidate]
                        bestIndex = candidate
                      }
                    }
                    consider(top + 2 * ox + 1)
                    consider(top + w + 2 * ox)
                    consider(top + w + 2 * ox + 1)
                    let o = (plane * oh + oy) * ow + ox
                    dst[o] = best
                    idx[o] = Int32(bestIndex)
                  }
                }
                continue
              }
              for oy in 0..<oh {
                for ox in 0..<ow {
                  var best = -Float.infinity
                  var bestIndex = base + oy * s * w + ox * s
                  for ky in 0..<k {
                    let row = base + (oy * s + ky) * w + ox * s
                    for kx in 0..<k where src[row + kx] > best {
                      best = src[row + kx]
                      bestIndex = row + kx
                    }
                  }
                  let o = (plane * oh + oy) * ow + ox
                  dst[o] = best
                  idx[o] = Int32(bestIndex)
                }
              }
            }
          }
        }
      }
    }
    if context.training {
      argmax = indices
      inputShape = x.shape
    }
    return y
  }

  // dX[argmax(o)] += dY[o]
  public func backward(_ dY: Tensor) -> Tensor {
    var dX = Tensor(shape: inputShape)
    dX.withMutablePointer { dxp in
      dY.withPointer { dyp in
        for o in 0..<dY.count { dxp[Int(argmax[o])] += dyp[o] }
      }
    }
    return dX
  }
}
