import Foundation

/// Resizes a region of a picture with PIL's antialiased bilinear filter (a triangle whose width
/// grows with the reduction, so a 500-pixel photo shrunk to 64 averages its pixels instead of
/// sampling one in eight), the filter torchvision's transforms use on PIL images.
public enum ImageResampler {
  /// A region of the source in pixels (may be fractional, as PIL's `box`).
  public struct Box: Equatable, Sendable {
    /// Left edge, in source pixels from the image's left.
    public var x: Double
    /// Top edge, in source pixels from the image's top.
    public var y: Double
    /// Width in source pixels.
    public var width: Double
    /// Height in source pixels.
    public var height: Double
    /// A region `width × height` whose top-left corner is at (`x`, `y`).
    public init(x: Double, y: Double, width: Double, height: Double) {
      (self.x, self.y, self.width, self.height) = (x, y, width, height)
    }
  }

  /// Per output position: the first source index and the normalised weights from there on.
  struct Taps {
    var first: [Int] = []
    var weights: [[Float]] = []
  }

  /// PIL's `precompute_coeffs` for the bilinear (triangle) filter: source pixels `0..<size`,
  /// the region `start…start+length` mapped onto `output` pixels.
  static func taps(size: Int, start: Double, length: Double, output: Int) -> Taps {
    let scale = length / Double(output)
    let filterScale = max(scale, 1)
    let support = filterScale  // the triangle's support is 1, widened by the reduction
    var taps = Taps()
    for i in 0..<output {
      let centre = start + (Double(i) + 0.5) * scale
      let low = max(0, Int((centre - support).rounded(.down))), high = min(size, Int((centre + support).rounded(.up)))
      var weights: [Float] = []
      var total: Float = 0
      for x in low..<max(low + 1, high) {
        let w = Float(max(0, 1 - abs((Double(x) + 0.5 - centre) / filterScale)))
        weights.append(w)
        total += w
      }
      if total > 0 { weights = weights.map { $0 / total } } else { weights = [1] + [Float](repeating: 0, count: weights.count - 1) }
      taps.first.append(min(low, size - 1))
      taps.weights.append(weights)
    }
    return taps
  }

  /// `box` of `image` resized to `width × height`, written planar (`[C, height, width]`, the
  /// image's channels) into `out`, horizontally mirrored when `mirror`.
  public static func resample(
    _ image: DecodedImage, box: Box, width: Int, height: Int, mirror: Bool = false, into out: UnsafeMutablePointer<UInt8>
  ) {
    let c = image.channels
    let horizontal = taps(size: image.width, start: box.x, length: box.width, output: width)
    let vertical = taps(size: image.height, start: box.y, length: box.height, output: height)
    // Only the source rows the vertical taps read go through the horizontal pass.
    let rowLow = vertical.first.first ?? 0
    let rowHigh = zip(vertical.first, vertical.weights).map { $0 + $1.count }.max() ?? rowLow
    let rows = rowHigh - rowLow
    var across = [Float](repeating: 0, count: rows * width * c)  // [row, x, channel]
    image.pixels.withUnsafeBufferPointer { px in
      for r in 0..<rows {
        let source = (rowLow + r) * image.width * c
        for x in 0..<width {
          let first = horizontal.first[x], weights = horizontal.weights[x]
          for ch in 0..<c {
            var sum: Float = 0
            for (k, w) in weights.enumerated() { sum += w * Float(px[source + (first + k) * c + ch]) }
            across[(r * width + x) * c + ch] = sum
          }
        }
      }
    }
    let plane = width * height
    for y in 0..<height {
      let first = vertical.first[y] - rowLow, weights = vertical.weights[y]
      for x in 0..<width {
        let column = mirror ? width - 1 - x : x
        for ch in 0..<c {
          var sum: Float = 0
          for (k, w) in weights.enumerated() { sum += w * across[((first + k) * width + x) * c + ch] }
          out[ch * plane + y * width + column] = UInt8(max(0, min(255, sum.rounded())))
        }
      }
    }
  }
}
