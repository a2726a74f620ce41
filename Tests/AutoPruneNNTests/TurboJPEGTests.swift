import AutoPruneNN
import XCTest

/// JPEG through libturbojpeg (loaded at run time; `scripts/install-deps.sh` installs it, and
/// these tests skip where it is absent: the tool runs without it, for PNG and IDX data).
final class TurboJPEGTests: XCTestCase {
  func library() throws -> TurboJPEG {
    guard let jpeg = TurboJPEG.shared else { throw XCTSkip("libturbojpeg is not installed (Debian libturbojpeg0)") }
    return jpeg
  }

  /// A smooth picture (JPEG is lossy: gradients survive quality 95 within a few levels).
  static func gradient(width: Int, height: Int, channels: Int) -> DecodedImage {
    var pixels: [UInt8] = []
    for y in 0..<height {
      for x in 0..<width {
        for c in 0..<channels { pixels.append(UInt8(40 + x * 100 / max(1, width - 1) + y * 40 / max(1, height - 1) + c * 30)) }
      }
    }
    return DecodedImage(width: width, height: height, channels: channels, pixels: pixels)
  }

  func testRoundTripKeepsSizeChannelsAndPixelsClose() throws {
    let jpeg = try library()
    for channels in [1, 3] {
      let image = TurboJPEGTests.gradient(width: 33, height: 20, channels: channels)
      let bytes = try jpeg.encode(image, quality: 95)
      XCTAssertEqual(Array(bytes.prefix(3)), [0xFF, 0xD8, 0xFF])
      let decoded = try ImageDecoder.decode(bytes, path: "g.jpg")
      XCTAssertEqual([decoded.width, decoded.height, decoded.channels], [33, 20, channels])
      let worst = zip(decoded.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.max()!
      XCTAssertLessThanOrEqual(worst, 8, "channels \(channels)")
    }
  }

  func testTruncatedAndGarbledJPEGsAreCorruptNotGrey() throws {
    let jpeg = try library()
    let bytes = try jpeg.encode(TurboJPEGTests.gradient(width: 64, height: 64, channels: 3))
    XCTAssertThrowsError(try ImageDecoder.decode(Array(bytes.prefix(bytes.count / 2)), path: "half.jpg")) { error in
      guard case .corrupt("half.jpg", _)? = error as? ImageError else { return XCTFail("\(error)") }
    }
    XCTAssertThrowsError(try ImageDecoder.decode([0xFF, 0xD8, 0xFF, 0x00, 0x01], path: "stub.jpg")) { error in
      guard case .corrupt("stub.jpg", _)? = error as? ImageError else { return XCTFail("\(error)") }
    }
  }
}
