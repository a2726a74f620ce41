import Foundation

/// How an image file becomes a network input of `size × size`, as torchvision's ImageNet recipe:
/// for training a random-resized crop (an area of `scale` of the image, aspect ratio in `ratio`,
/// log-uniform) and a flip with probability ½; for evaluation the shorter side resized to
/// `size / 0.875` (256 for 224) and the centre `size × size` crop.
public struct ImageFolderTransform: Equatable, Sendable {
  /// The side of the square the network takes.
  public var size: Int
  /// Random-resized-crop and flip when true, resize and centre crop when false.
  public var training: Bool
  /// Fraction of the image's area a training crop covers, drawn uniformly (torchvision: 0.08…1).
  public var scale: ClosedRange<Double>
  /// Aspect ratios (width / height) of training crops, drawn log-uniformly (torchvision: ¾…4⁄3).
  public var ratio: ClosedRange<Double>
  /// The evaluation crop's share of the resized shorter side (torchvision: 224 / 256 = 0.875).
  public var centreFraction: Double

  /// The torchvision defaults for `size`.
  public init(size: Int, training: Bool, scale: ClosedRange<Double> = 0.08...1, ratio: ClosedRange<Double> = 0.75...(4.0 / 3), centreFraction: Double = 0.875) {
    precondition(size > 0 && scale.lowerBound > 0 && scale.upperBound <= 1 && ratio.lowerBound > 0 && centreFraction > 0 && centreFraction <= 1)
    self.size = size
    self.training = training
    self.scale = scale
    self.ratio = ratio
    self.centreFraction = centreFraction
  }

  /// The region of an image `width × height` to resize, and whether to mirror it; `rng` draws
  /// the training crop (unused for evaluation).
  public func region(width: Int, height: Int, rng: RandomSource) -> (box: ImageResampler.Box, mirror: Bool) {
    guard training else {
      // Resize the shorter side to size / fraction, then the centre crop: in source pixels, a
      // square of fraction × the shorter side in the middle.
      let side = Double(min(width, height)) * centreFraction
      return (ImageResampler.Box(x: (Double(width) - side) / 2, y: (Double(height) - side) / 2, width: side, height: side), false)
    }
    let w = Double(width), h = Double(height), area = w * h
    let logRatio = log(ratio.lowerBound)...log(ratio.upperBound)
    for _ in 0..<10 {
      let target = area * Double(rng.uniform(Float(scale.lowerBound), Float(scale.upperBound)))
      let aspect = exp(Double(rng.uniform(Float(logRatio.lowerBound), Float(logRatio.upperBound))))
      let cw = (target * aspect).squareRoot().rounded(), ch = (target / aspect).squareRoot().rounded()
      if cw > 0, ch > 0, cw <= w, ch <= h {
        let top = Double(rng.below(Int(h - ch) + 1)), left = Double(rng.below(Int(w - cw) + 1))
        return (ImageResampler.Box(x: left, y: top, width: cw, height: ch), rng.next() & 1 == 1)
      }
    }
    // torchvision's fallback: the whole image, cut to the nearest allowed aspect ratio, centred.
    var cw = w, ch = h
    if w / h < ratio.lowerBound { ch = (w / ratio.lowerBound).rounded() } else if w / h > ratio.upperBound { cw = (h * ratio.upperBound).rounded() }
    return (ImageResampler.Box(x: ((w - cw) / 2).rounded(.down), y: ((h - ch) / 2).rounded(.down), width: cw, height: ch), rng.next() & 1 == 1)
  }

  /// `image` as a planar `[channels, size, size]` input in `out`.
  public func apply(_ image: DecodedImage, rng: RandomSource, into out: UnsafeMutablePointer<UInt8>) {
    let (box, mirror) = region(width: image.width, height: image.height, rng: rng)
    ImageResampler.resample(image, box: box, width: size, height: size, mirror: mirror, into: out)
  }
}
