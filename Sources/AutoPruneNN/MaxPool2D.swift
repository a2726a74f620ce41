import AutoPruneKernels

/// Max pooling over NCHW images with a square window, like `nn.MaxPool2d(k, stride: s, padding: p)`.
///
/// Shapes: x is `[N, C, H, W]`, y is `[N, C, OH, OW]` with `OH = (H + 2p − k) / s + 1`; padding
/// counts as −∞ (it never wins), as in PyTorch.
/// Ties go to the first maximum in row-major window order, as in PyTorch.
public final class MaxPool2D: Layer {
  /// Side k of the square window, in pixels.
  public let kernelSize: Int
  /// Step between windows; `kernelSize` unless given (windows that do not overlap).
  public let stride: Int
  /// Rows and columns of −∞ on each side (ResNet's stem pools 3 × 3, stride 2, padding 1).
  public let padding: Int
  private var argmax: [Int32] = []
  private var inputShape: [Int] = []

  /// `stride` nil means `kernelSize`, as PyTorch defaults. Rows and columns that do not fill a
  /// last window are dropped. Padding must be at most half the window (PyTorch's rule: every
  /// window then holds a real pixel).
  public init(_ kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
    precondition(kernelSize > 0 && (stride ?? kernelSize) > 0, "MaxPool2D: kernel size and stride must be positive")
    precondition(padding >= 0 && 2 * padding <= kernelSize, "MaxPool2D: padding must be in 0…kernel/2")
    self.kernelSize = kernelSize
    self.stride = stride ?? kernelSize
    self.padding = padding
  }

  public func outputShape(for s: [Int]) -> [Int] {
    [s[0], (s[1] + 2 * padding - kernelSize) / stride + 1, (s[2] + 2 * padding - kernelSize) / stride + 1]
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    precondition(x.shape.count == 4, "MaxPool2D expects NCHW input, got \(x.shape)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let out = outputShape(for: [c, h, w])
    let (oh, ow) = (out[1], out[2])
    var y = Tensor(shape: [n, c, oh, ow])
    var indices = [Int32](repeating: 0, count: y.count)
    let k = kernelSize, s = stride, p = padding
    x.withPointer { xp in
      y.withMutablePointer { yp in
        indices.withUnsafeMutableBufferPointer { ip in
          let src = SharedPointer(UnsafeMutablePointer(mutating: xp))
          let dst = SharedPointer(yp)
          let idx = SharedPointer(ip.baseAddress!)
          Parallel.forRanges(n * c, minPerThread: 16) { planes in
            for plane in planes {
              let base = plane * h * w
              if k == 2 && s == 2 && p == 0 {
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
                // The window's rows and columns inside the image (padding never wins).
                let rows = max(0, oy * s - p)..<min(h, oy * s - p + k)
                for ox in 0..<ow {
                  let columns = max(0, ox * s - p)..<min(w, ox * s - p + k)
                  var best = -Float.infinity
                  var bestIndex = base + rows.lowerBound * w + columns.lowerBound
                  for y in rows {
                    let row = base + y * w
                    for x in columns where src[row + x] > best {
                      best = src[row + x]
                      bestIndex = row + x
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
