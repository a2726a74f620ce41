/// Geometry of a 2-D convolution or pooling window over one NCHW image.
public struct ConvGeometry: Sendable, Equatable {
  /// The input image: channels, then height and width in pixels before padding.
  public let channels: Int, height: Int, width: Int
  /// Window size in pixels.
  public let kernelHeight: Int, kernelWidth: Int
  /// Step between windows and zeros added on each side, the same along both axes.
  public let stride: Int, padding: Int

  /// The defaults give a stride-1 window without padding ("valid").
  public init(channels: Int, height: Int, width: Int, kernelHeight: Int, kernelWidth: Int, stride: Int = 1, padding: Int = 0) {
    self.channels = channels
    self.height = height
    self.width = width
    self.kernelHeight = kernelHeight
    self.kernelWidth = kernelWidth
    self.stride = stride
    self.padding = padding
  }

  /// Window positions down the image; a last step that would overhang is dropped (PyTorch's floor rule).
  public var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
  /// Window positions across the image, by the same rule as `outputHeight`.
  public var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
  /// Rows of the column matrix: one per (channel, ky, kx).
  public var patchSize: Int { channels * kernelHeight * kernelWidth }
  /// Output pixels per channel: the columns of the column matrix one image takes.
  public var outputPositions: Int { outputHeight * outputWidth }
}

/// im2col / col2im lowering for convolution as GEMM.
///
/// The column matrix of a batch is `[patchSize, batch · outputPositions]` (row-major), so one
/// GEMM `W[out, patchSize] · cols` computes every image at once: `cols[row, n·P + pos]`.
public enum Im2Col {
  /// Fills `cols` from `images` (`batch` NCHW images), zero where the window hangs over padding.
  ///
  /// Each channel plane is first copied into a zero-bordered scratch plane (when there is
  /// padding), so every window row is one branch-free run. Testing bounds per output row cost
  /// more than the copy on small planes: on VGG's 4 × 4 and 2 × 2 stages a row is 2–4 floats,
  /// and the zero fills were `memset` calls (a thinned VGG-like spent more time here than in GEMM).
  public static func lower(
    _ images: UnsafePointer<Float>, batch: Int, geometry g: ConvGeometry,
    into cols: UnsafeMutablePointer<Float>
  ) {
    let positions = g.outputPositions
    let rowStride = batch * positions
    let imageSize = g.channels * g.height * g.width
    let paddedHeight = g.height + 2 * g.padding, paddedWidth = g.width + 2 * g.padding
    let src = SharedPointer(UnsafeMutablePointer(mutating: images))
    let dst = SharedPointer(cols)
    Parallel.forRanges(batch) { range in
      // The border stays zero; each channel rewrites only the interior.
      let scratch = g.padding > 0 ? UnsafeMutablePointer<Float>.allocate(capacity: paddedHeight * paddedWidth) : nil
      scratch?.initialize(repeating: 0, count: paddedHeight * paddedWidth)
      defer { scratch?.deallocate() }
      for n in range {
        let image = src + n * imageSize
        for c in 0..<g.channels {
          var plane = UnsafePointer(image + c * g.height * g.width)
          var planeWidth = g.width
          if let scratch {
            Runs.copyRows(
              plane, stride: g.width, to: scratch + g.padding * paddedWidth + g.padding, stride: paddedWidth,
              rows: g.height, width: g.width)
            plane = UnsafePointer(scratch)
            planeWidth = paddedWidth
          }
          for ky in 0..<g.kernelHeight {
            for kx in 0..<g.kernelWidth {
              let row = (c * g.kernelHeight + ky) * g.kernelWidth + kx
              fillRow(plane + ky * planeWidth + kx, planeWidth: planeWidth, g, dst + (row * rowStride + n * positions))
            }
          }
        }
      }
    }
  }

  /// One row of the column matrix: the window offset's value at every output position, read
  /// from a plane that holds the padding (`origin` is the offset's first input).
  @inline(__always)
  private static func fillRow(
    _ origin: UnsafePointer<Float>, planeWidth: Int, _ g: ConvGeometry, _ out: UnsafeMutablePointer<Float>
  ) {
    let ow = g.outputWidth
    if g.stride == 1 {
      Runs.copyRows(origin, stride: planeWidth, to: out, stride: ow, rows: g.outputHeight, width: ow)
      return
    }
    for oy in 0..<g.outputHeight {
      let line = origin + oy * g.stride * planeWidth
      let o = out + oy * ow
      for ox in 0..<ow { o[ox] = line[ox * g.stride] }
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

  /// `rows` runs of `width` floats between two strided layouts. Widths 2, 4 and 8 (the
  /// 2 × 2 to 8 × 8 planes of CIFAR networks) move as one vector each: a loop per run of a few
  /// floats cost more than the data.
  @inline(__always)
  static func copyRows(
    _ src: UnsafePointer<Float>, stride srcStride: Int, to dst: UnsafeMutablePointer<Float>, stride dstStride: Int,
    rows: Int, width: Int
  ) {
    @inline(__always) func move<V: SIMD>(_: V.Type) where V.Scalar == Float {
      for r in 0..<rows {
        UnsafeMutableRawPointer(dst + r &* dstStride).storeBytes(
          of: UnsafeRawPointer(src + r &* srcStride).loadUnaligned(as: V.self), as: V.self)
      }
    }
    switch width {
    case 2: move(SIMD2<Float>.self)
    case 4: move(SIMD4<Float>.self)
    case 8: move(SIMD8<Float>.self)
    default:
      for r in 0..<rows { copy(src + r &* srcStride, to: dst + r &* dstStride, count: width) }
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
