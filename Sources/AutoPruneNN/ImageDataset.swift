import AutoPruneKernels
import Foundation

/// Labelled images held as bytes (`[count, channels, height, width]`, NCHW), normalised to
/// Float only when a batch is made, so full Fashion-MNIST costs 47 MB rather than 188 MB.
public struct ImageDataset: Sendable {
  /// Raw bytes 0–255, `count × imageSize` of them in NCHW order; `batch` normalises them.
  public let pixels: [UInt8]
  /// Class of each image, in `0..<classes` (the loaders check; `init` does not).
  public let labels: [Int]
  /// 1 for grey images (MNIST), 3 for colour ones (CIFAR-10, RGB planes).
  public let channels: Int
  /// Image height in pixels, the same for every image.
  public let height: Int
  /// Image width in pixels, the same for every image.
  public let width: Int
  /// Number of classes: the width of a classifier's output (10 for MNIST and CIFAR-10).
  public let classes: Int

  /// Traps unless `pixels` holds exactly one image per label.
  public init(pixels: [UInt8], labels: [Int], channels: Int, height: Int, width: Int, classes: Int) {
    precondition(pixels.count == labels.count * channels * height * width, "pixel count does not match labels")
    self.pixels = pixels
    self.labels = labels
    self.channels = channels
    self.height = height
    self.width = width
    self.classes = classes
  }

  /// Images in the set, one per label.
  public var count: Int { labels.count }
  /// Bytes per image (floats, once batched): `channels × height × width`.
  public var imageSize: Int { channels * height * width }
  /// One image's shape without the batch, `[C, H, W]`: the input shape a model is built for.
  public var sampleShape: [Int] { [channels, height, width] }

  /// Images `indices` as a `[n, C, H, W]` tensor normalised with `normalization`, and labels.
  public func batch(_ indices: ArraySlice<Int>, normalization: Normalization) -> (images: Tensor, labels: [Int]) {
    var images = Tensor(shape: [indices.count, channels, height, width]) { _ in }  // every entry written below
    let size = imageSize, plane = height * width
    let (means, stds) = normalization.perChannel(channels)
    let scales = stds.map { 1 / (255 * $0) }, shifts = zip(means, stds).map { $0 / $1 }
    images.withMutablePointer { out in
      pixels.withUnsafeBufferPointer { px in
        for (row, index) in indices.enumerated() {
          let src = px.baseAddress! + index * size
          let dst = out + row * size
          for c in 0..<channels {
            let scale = scales[c], shift = shifts[c]
            // 16 pixels at a time (the byte-to-float loop stayed scalar in a generic build).
            let from = src + c * plane, to = dst + c * plane
            let scaleVector = Chunks.Vector(repeating: scale), shiftVector = Chunks.Vector(repeating: shift)
            var i = 0
            while i + 16 <= plane {
              let bytes = UnsafeRawPointer(from + i).loadUnaligned(as: SIMD16<UInt8>.self)
              Chunks.store(Chunks.Vector(bytes) * scaleVector - shiftVector, to, i, 16)
              i += 16
            }
            while i < plane {
              to[i] = Float(from[i]) * scale - shift
              i += 1
            }
          }
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

/// Per-dataset input normalisation `(x/255 − mean) / std`: one value for all channels, or one
/// per channel (colour images: `channelMeans`, `channelStds`).
public struct Normalization: Codable, Equatable, Sendable {
  /// Mean of the pixels scaled to [0, 1]. With per-channel values it is their average, used only
  /// for images whose channel count they do not match.
  public var mean: Float
  /// Standard deviation of the pixels scaled to [0, 1]; averaged like `mean` when per channel.
  public var std: Float
  /// Per-channel means, nil for one shared pair; used when their count matches the images' channels.
  public var channelMeans: [Float]?
  /// Per-channel standard deviations, paired with `channelMeans`.
  public var channelStds: [Float]?

  /// One pair for every channel. Nothing checks that `std` is non-zero, and it divides.
  public init(mean: Float, std: Float) {
    self.mean = mean
    self.std = std
  }

  /// One pair per channel; `mean` and `std` become their averages.
  public init(channelMeans: [Float], channelStds: [Float]) {
    precondition(channelMeans.count == channelStds.count && !channelMeans.isEmpty, "one mean and one std per channel")
    mean = channelMeans.reduce(0, +) / Float(channelMeans.count)
    std = channelStds.reduce(0, +) / Float(channelStds.count)
    self.channelMeans = channelMeans
    self.channelStds = channelStds
  }

  /// Mean and std for each of `channels` channels (the shared pair repeated when there is no
  /// per-channel one of that length).
  public func perChannel(_ channels: Int) -> (means: [Float], stds: [Float]) {
    if let channelMeans, let channelStds, channelMeans.count == channels, channelStds.count == channels { return (channelMeans, channelStds) }
    return ([Float](repeating: mean, count: channels), [Float](repeating: std, count: channels))
  }

  /// What a black (zero) pixel becomes in each channel: the value padding takes.
  public func zeroPixel(_ channels: Int) -> [Float] {
    let (m, s) = perChannel(channels)
    return zip(m, s).map { -$0 / $1 }
  }

  /// Mean and standard deviation of the pixels (scaled to [0, 1]) of a training set: one pair
  /// for grey images, one per channel for colour ones.
  public static func fitted(to data: ImageDataset) -> Normalization {
    if data.channels > 1 {
      let plane = data.height * data.width
      var sums = [Double](repeating: 0, count: data.channels), squares = sums
      data.pixels.withUnsafeBufferPointer { px in
        for s in 0..<data.count {
          for c in 0..<data.channels {
            let base = (s * data.channels + c) * plane
            var sum = 0.0, square = 0.0
            for i in 0..<plane {
              let v = Double(px[base + i]) / 255
              sum += v
              square += v * v
            }
            sums[c] += sum
            squares[c] += square
          }
        }
      }
      let n = Double(max(1, data.count * plane))
      let means = sums.map { $0 / n }
      let stds = zip(squares, means).map { max($0 / n - $1 * $1, 1e-12).squareRoot() }
      return Normalization(channelMeans: means.map(Float.init), channelStds: stds.map(Float.init))
    }
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
