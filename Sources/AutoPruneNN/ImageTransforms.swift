/// Image-level changes to a dataset and its batches: zero padding to a larger square (how
/// 28 × 28 Fashion-MNIST stands in for 32 × 32 CIFAR-10 input) and training augmentation.
extension ImageDataset {
  /// Every image centred on a black `side × side` canvas (side ≥ height and width; an odd
  /// margin puts the extra row or column at the bottom or right).
  public func padded(to side: Int) -> ImageDataset {
    precondition(side >= height && side >= width, "cannot pad \(height)×\(width) images to \(side)×\(side)")
    if side == height && side == width { return self }
    let top = (side - height) / 2, left = (side - width) / 2
    var out = [UInt8](repeating: 0, count: count * channels * side * side)
    pixels.withUnsafeBufferPointer { src in
      out.withUnsafeMutableBufferPointer { dst in
        for plane in 0..<(count * channels) {
          for y in 0..<height {
            let from = (plane * height + y) * width, to = (plane * side + top + y) * side + left
            for x in 0..<width { dst[to + x] = src[from + x] }
          }
        }
      }
    }
    return ImageDataset(pixels: out, labels: labels, channels: channels, height: side, width: side, classes: classes)
  }
}

/// Training augmentation as in He et al. 2016 for CIFAR: a random `side × side` crop of the image
/// zero-padded by `padding` on every side, and a horizontal flip with probability ½. Drawn from
/// the run's random source, so a seed fixes every crop.
public struct Augmentation: Codable, Equatable, Sendable, CustomStringConvertible {
  /// Largest shift in pixels along each axis: offsets are drawn from −padding … padding, the
  /// uncovered border black.
  public var padding: Int
  /// Whether to mirror each image left–right with probability ½.
  public var flip: Bool

  /// The defaults are He et al.'s CIFAR setting: shifts up to 4 pixels and flips.
  public init(padding: Int = 4, flip: Bool = true) {
    precondition(padding >= 0, "augmentation padding must be ≥ 0")
    self.padding = padding
    self.flip = flip
  }

  /// `shifts ±4 px, flips`, `shifts ±3 px`, `flips`: what run summaries record.
  public var description: String {
    [padding > 0 ? "shifts ±\(padding) px" : nil, flip ? "flips" : nil].compactMap { $0 }.joined(separator: ", ")
  }

  /// Augments a normalised batch `[N, C, H, W]` in place. Padding is black: `fill[c]` is the
  /// normalised value of a zero pixel in channel c (what padding the raw image before
  /// normalising gives; `Normalization.zeroPixel`).
  public func apply(to images: inout Tensor, fill: [Float], rng: RandomSource) {
    let n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3]
    let plane = h * w
    precondition(fill.count == c, "one fill value per channel")
    var scratch = [Float](repeating: 0, count: c * plane)
    images.withMutablePointer { p in
      for s in 0..<n {
        // Offsets of the crop inside the padded image, in −padding … +padding.
        let dy = padding > 0 ? Int(rng.next() % UInt64(2 * padding + 1)) - padding : 0
        let dx = padding > 0 ? Int(rng.next() % UInt64(2 * padding + 1)) - padding : 0
        let mirror = flip && rng.next() & 1 == 1
        if dy == 0 && dx == 0 && !mirror { continue }
        let image = p + s * c * plane
        for i in 0..<(c * plane) { scratch[i] = image[i] }
        for ch in 0..<c {
          for y in 0..<h {
            let sy = y + dy
            for x in 0..<w {
              let sx = (mirror ? w - 1 - x : x) + dx
              image[ch * plane + y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? scratch[ch * plane + sy * w + sx] : fill[ch]
            }
          }
        }
      }
    }
  }
}
