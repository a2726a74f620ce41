/// Geometry of a 2-D convolution or pooling window over one NCHW image.
public struct ConvGeometry: Sendable, Equatable {
  public let channels: Int, height: Int, width: Int
  public let kernelHeight: Int, kernelWidth: Int
  public let stride: Int, padding: Int

  public init(channels: Int, height: Int, width: Int, kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0) {
    self.channels = channels
    self.height = height
    self.width = width
    self.kernelHeight = kernelHeight
    self.kernelWidth = kernelWidth
    self.stride = stride
    self.padding = padding
  }

  public var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
  public var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
  /// Rows of the column matrix: one per (channel, ky, kx).
  public var patchSize: Int { channels * kernelHeight * kernelWidth }
  public var outputPositions: Int { outputHeight * outputWidth }
}

/// im2col / col2im lowering for convolution as GEMM.
///
/// The column matrix of a batch is `[patchSize, batch · outputPositions]` (row-major), so one
/// GEMM `W[out, patchSize] · cols` computes every image at once: `cols[row, n·P + pos]`.
public enum Im2Col {
  /// Fills `cols` from `images` (`batch` NCHW images), zero where the window hangs over padding.
  public static func lower(
    _ images: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
    into cols: UnsafeMutablePointer<Float>
  ) {
    let positions = g.outputPositions
    let rowStride = batch * positions
    let imageSize = g.channels * g.height * g.width
    let src = SharedPointer(UnsafeMutablePointer(mutating: images))
    let dst = SharedPointer(cols)
    Parallel.forRanges(batch) { range in
      for n in range {
        let image = src + n * imageSize
        for c in 0..<g.channels {
          for ky in 0..<g.kernelHeight {
            for kx in 0..<g.kernelWidth {
              let row = (c * g.kernelHeight + ky) * g.kernelWidth + kx
              let out = dst + (row * rowStride + n * positions)
              fillRow(image + c * g.height * g.width, g, ky, kx, out)
            }
          }
        }
      }
    }
  }

  @inline(__always)
  private static func fillRow(
    _ plane: UnsafeMutablePointer<Float>, _ g: ConvGeometry, _ ky: Int, _ kx: Int,
    _ out: UnsafeMutablePointer<Float>
  ) {
    let ow = g.outputWidth
    for oy in 0..<g.outputHeight {
      let iy = oy * g.stride - g.padding + ky
      let o = out + oy * ow
      if iy < 0 || iy >= g.height {
        o.update(repeating: 0, count: ow)
        continue
      }
      let line = plane + iy * g.width
      if g.stride == 1 {
        // Contiguous interior: copy one run, zero the padded ends.
        let start = kx - g.padding
        let lo = max(0, -start)
        let hi = min(ow, g.width - start)
        if lo > 0 { o.update(repeating: 0, count: min(lo, ow)) }
        if hi > lo { Runs.copy(line + start + lo, to: o + lo, count: hi - lo) }
        if hi < ow { (o + max(hi, 0)).update(repeating: 0, count: ow - max(hi, 0)) }
      } else {
        for ox in 0..<ow {
          let ix = ox * g.stride - g.padding + kx
          o[ox] = (ix >= 0 && ix < g.width) ? line[ix] : 0
        }
      }
    }
  }

  /// Adds the column-matrix gradient back into image gradients (`dImages` is overwritten).
  public static func raise(
    _ cols: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
    into dImages: UnsafeMutablePointer<Float>
  ) {
    let positions = g.outputPositions
    let rowStride = batch * positions
    let imageSize = g.channels * g.height * g.width
    let src = SharedPointer(UnsafeMutablePointer(mutating: cols))
    let dst = SharedPointer(dImages)
    Parallel.forRanges(batch) { range in
      for n in range {
        let image = dst + n * imageSize
        image.update(repeating: 0, count: imageSize)
        for c in 0..<g.channels {
          let plane = image + c * g.height * g.width
          for ky in 0..<g.kernelHeight {
            for kx in 0..<g.kernelWidth {
              let row = (c * g.kernelHeight + ky) * g.kernelWidth + kx
              let col = src + (row * rowStride + n * positions)
              for oy in 0..<g.outputHeight {
                let iy = oy * g.stride - g.padding + ky
                if iy < 0 || iy >= g.height { continue }
                let line = plane + iy * g.width
                let c0 = col + oy * g.outputWidth
                if g.stride == 1 {
                  // Valid outputs form one contiguous run: a branch-free, vectorisable add.
                  let start = kx - g.padding
                  let lo = max(0, -start), hi = min(g.outputWidth, g.width - start)
                  if hi > lo { Runs.add(c0 + lo, to: line + start + lo, count: hi - lo) }
                } else {
                  for ox in 0..<g.outputWidth {
                    let ix = ox * g.stride - g.padding + kx
                    if ix >= 0 && ix < g.width { line[ix] += c0[ox] }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

/// Short contiguous copies and sums with vector loads. Convolution rows are often only 8–24
/// floats wide, where a `memmove` call per row cost more than the copy (LeNet-5 profile).
enum Runs {
  @inline(__always)
  static func copy(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
    while i + 8 <= count {
      d.storeBytes(of: s.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), toByteOffset: 4 * i, as: SIMD8<Float>.self)
      i += 8
    }
    while i < count {
      dst[i] = src[i]
      i += 1
    }
  }

  @inline(__always)
  static func add(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
    while i + 8 <= count {
      let sum = d.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) + s.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
      d.storeBytes(of: sum, toByteOffset: 4 * i, as: SIMD8<Float>.self)
      i += 8
    }
    while i < count {
      dst[i] += src[i]
      i += 1
    }
  }
}
