import Foundation

/// Labelled images held as bytes (`[count, channels, height, width]`, NCHW), normalised to
/// Float only when a batch is made, so full Fashion-MNIST costs 47 MB rather than 188 MB.
public struct ImageDataset: Sendable {
  public let pixels: [UInt8]
  public let labels: [Int]
  public let channels: Int
  public let height: Int
  public let width: Int
  public let classes: Int

  public init(pixels: [UInt8], labels: [Int], channels: Int, height: Int, width: Int, classes: Int) {
    precondition(pixels.count == labels.count * channels * height * width, "pixel count does not match labels")
    self.pixels = pixels
    self.labels = labels
    self.channels = channels
    self.height = height
    self.width = width
    self.classes = classes
  }

  public var count: Int { labels.count }
  public var imageSize: Int { channels * height * width }
  public var sampleShape: [Int] { [channels, height, width] }

  /// Images `indices` as a `[n, C, H, W]` tensor normalised with `normalization`, and labels.
  public func batch(_ indices: ArraySlice<Int>, normalization: Normalization) -> (images: Tensor, labels: [Int]) {
    var images = Tensor(shape: [indices.count, channels, height, width])
    let size = imageSize
    let scale = 1 / (255 * normalization.std)
    let shift = normalization.mean / normalization.std
    images.withMutablePointer { out in
      pixels.withUnsafeBufferPointer { px in
        for (row, index) in indices.enumerated() {
          let src = px.baseAddress! + index * size
          let dst = out + row * size
          for i in 0..<size { dst[i] = Float(src[i]) * scale - shift }
        }
      }
    }
    return (images, indices.map { labels[$0] })
  }

  /// The first `n` samples (for quick runs).
  public func prefix(_ n: Int) -> ImageDataset {
    let k = min(n, count)
    return ImageDataset(
      pixels: Array(pixels[0..<(k * imageSize)]), labels: Array(labels[0..<k]), channels: channels,
      height: height, width: width, classes: classes)
  }
}

/// Per-dataset input normalisation `(x/255 − mean) / std`, one value for all channels.
public struct Normalization: Codable, Equatable, Sendable {
  public var mean: Float
  public var std: Float

  public init(mean: Float, std: Float) {
    self.mean = mean
    self.std = std
  }

  /// Mean and standard deviation of the pixels (scaled to [0, 1]) of a training set.
  public static func fitted(to data: ImageDataset) -> Normalization {
    var sum = 0.0
    var sumSquares = 0.0
    for p in data.pixels {
      let v = Double(p) / 255
      sum += v
      sumSquares += v * v
    }
    let n = Double(max(1, data.pixels.count))
    let mean = sum / n
    let variance = max(sumSquares / n - mean * mean, 1e-12)
    return Normalization(mean: Float(mean), std: Float(variance.squareRoot()))
  }
}
