import AutoPruneNN
import XCTest

/// PIL's antialiased bilinear resampling and torchvision's crop rules, by hand.
final class ImageResamplerTests: XCTestCase {
  func resample(_ image: DecodedImage, _ box: ImageResampler.Box, _ w: Int, _ h: Int, mirror: Bool = false) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: w * h * image.channels)
    out.withUnsafeMutableBufferPointer { ImageResampler.resample(image, box: box, width: w, height: h, mirror: mirror, into: $0.baseAddress!) }
    return out
  }

  func testSameSizeIsTheImageAndMirrorReversesRows() {
    let image = DecodedImage(width: 3, height: 2, channels: 3, pixels: (0..<18).map { UInt8($0 * 10) })
    let whole = ImageResampler.Box(x: 0, y: 0, width: 3, height: 2)
    // Planar output: channel 0 of each pixel first.
    XCTAssertEqual(resample(image, whole, 3, 2), [0, 30, 60, 90, 120, 150, 10, 40, 70, 100, 130, 160, 20, 50, 80, 110, 140, 170])
    XCTAssertEqual(Array(resample(image, whole, 3, 2, mirror: true).prefix(6)), [60, 30, 0, 150, 120, 90])
  }

  /// Halving 4 pixels: output 0 is centred on source 1.0; the triangle is 2 wide (the reduction),
  /// so sources 0, 1, 2 weigh 0.75, 0.75, 0.25 (over 1.75): (0·0.75 + 100·0.75 + 200·0.25)/1.75
  /// = 71.4; output 1 (centre 3.0): sources 1, 2, 3 weigh 0.25, 0.75, 0.75: 366.25/1.75 = 209.3.
  func testDownscaleAveragesWithAWidenedTriangle() {
    let image = DecodedImage(width: 4, height: 1, channels: 1, pixels: [0, 100, 200, 255])
    XCTAssertEqual(resample(image, .init(x: 0, y: 0, width: 4, height: 1), 2, 1), [71, 209])
  }

  /// Doubling 2 pixels: outputs centred on source 0.25, 0.75, 1.25, 1.75 interpolate linearly
  /// (edges clamp): 0, 25, 75, 100.
  func testUpscaleInterpolatesLinearly() {
    let image = DecodedImage(width: 2, height: 1, channels: 1, pixels: [0, 100])
    XCTAssertEqual(resample(image, .init(x: 0, y: 0, width: 2, height: 1), 4, 1), [0, 25, 75, 100])
  }

  func testAConstantImageStaysConstantAtAnyScaleAndBox() {
    let image = DecodedImage(width: 37, height: 23, channels: 3, pixels: [UInt8](repeating: 77, count: 37 * 23 * 3))
    for (box, side) in [(ImageResampler.Box(x: 0, y: 0, width: 37, height: 23), 8), (.init(x: 3.5, y: 2.25, width: 11, height: 19.5), 64)] {
      XCTAssertEqual(Set(resample(image, box, side, side)), [77])
    }
  }

  func testTrainingCropsStayInsideTheImageWithinScaleAndRatio() {
    let transform = ImageFolderTransform(size: 32, training: true)
    let rng = RandomSource(seed: 3)
    var mirrored = 0
    for _ in 0..<500 {
      let (box, mirror) = transform.region(width: 120, height: 80, rng: rng)
      mirrored += mirror ? 1 : 0
      XCTAssertTrue(box.x >= 0 && box.y >= 0 && box.x + box.width <= 120 && box.y + box.height <= 80, "\(box)")
      let area = box.width * box.height / (120 * 80)
      XCTAssertTrue(area > 0.07 && area <= 1, "\(area)")
      let ratio = box.width / box.height
      XCTAssertTrue(ratio > 0.7 && ratio < 1.4, "\(ratio)")
    }
    XCTAssertTrue((200...300).contains(mirrored), "\(mirrored) of 500 mirrored")
  }

  /// torchvision's fallback when ten draws miss: a 400 × 10 strip (ratio 40) gets the widest
  /// allowed crop, 13 × 10 (ratio 4/3), centred.
  func testFallbackCropOfAnExtremeAspectRatio() {
    let transform = ImageFolderTransform(size: 8, training: true, scale: 0.9...1)
    let (box, _) = transform.region(width: 400, height: 10, rng: RandomSource(seed: 1))
    XCTAssertEqual(box, ImageResampler.Box(x: 193, y: 0, width: 13, height: 10))
  }

  /// Evaluation: the shorter side resized to size / 0.875, the centre size × size: in source
  /// pixels, a square of 0.875 × the shorter side in the middle.
  func testEvaluationCropIsTheCentredSquare() {
    let transform = ImageFolderTransform(size: 224, training: false)
    let (box, mirror) = transform.region(width: 500, height: 375, rng: RandomSource(seed: 1))
    XCTAssertFalse(mirror)
    XCTAssertEqual(box.width, 328.125, accuracy: 1e-9)
    XCTAssertEqual(box.height, 328.125, accuracy: 1e-9)
    XCTAssertEqual(box.x, (500 - 328.125) / 2, accuracy: 1e-9)
    XCTAssertEqual(box.y, (375 - 328.125) / 2, accuracy: 1e-9)
  }
}
