import AutoPruneNN
import XCTest

/// The PNG decoder against files built by hand (`PNGFixture`): every colour type and bit depth,
/// every row filter, Adam7, and damaged files refused with the path in the message.
final class PNGDecoderTests: XCTestCase {
  /// Deterministic samples in 0..<(1 << depth).
  static func samples(_ count: Int, depth: Int, seed: Int = 7) -> [Int] {
    (0..<count).map { ($0 * 37 + seed * 11 + ($0 * $0) % 13) % (1 << depth) }
  }

  /// What the decoder must give for `fixture`: 8-bit grey or RGB, alpha dropped.
  static func expected(_ f: PNGFixture) -> DecodedImage {
    let n = f.width * f.height, spp = f.samplesPerPixel
    func scaled(_ v: Int) -> UInt8 {
      f.bitDepth == 16 ? UInt8(v >> 8) : f.bitDepth == 8 ? UInt8(v) : UInt8(v * 255 / ((1 << f.bitDepth) - 1))
    }
    switch f.colorType {
    case 0, 4:
      return DecodedImage(width: f.width, height: f.height, channels: 1, pixels: (0..<n).map { scaled(f.samples[$0 * spp]) })
    case 3:
      let pixels = (0..<n).flatMap { i in (0..<3).map { f.palette[f.samples[i] * 3 + $0] } }
      return DecodedImage(width: f.width, height: f.height, channels: 3, pixels: pixels)
    default:
      let pixels = (0..<n).flatMap { i in (0..<3).map { scaled(f.samples[i * spp + $0]) } }
      return DecodedImage(width: f.width, height: f.height, channels: 3, pixels: pixels)
    }
  }

  func testEveryColourTypeAndBitDepthWithEveryFilter() throws {
    let cases: [(color: Int, depths: [Int])] = [(0, [1, 2, 4, 8, 16]), (2, [8, 16]), (3, [1, 2, 4, 8]), (4, [8, 16]), (6, [8, 16])]
    for (color, depths) in cases {
      for depth in depths {
        for interlaced in [false, true] {
          var f = PNGFixture(width: 13, height: 11, bitDepth: depth, colorType: color, samples: [])
          f.interlaced = interlaced
          f.filters = [0, 1, 2, 3, 4]
          f.samples = PNGDecoderTests.samples(13 * 11 * f.samplesPerPixel, depth: color == 3 ? min(depth, 2) : depth)
          if color == 3 { f.palette = (0..<12).map { UInt8($0 * 21) } }
          let decoded = try PNGDecoder.decode(f.bytes(), path: "case.png")
          XCTAssertEqual(decoded, PNGDecoderTests.expected(f), "colour type \(color), depth \(depth), interlaced \(interlaced)")
        }
      }
    }
  }

  /// A 1-pixel image interlaced leaves six of Adam7's seven passes empty.
  func testTinyInterlacedImagesSkipEmptyPasses() throws {
    for (w, h) in [(1, 1), (2, 1), (1, 5), (3, 2)] {
      var f = PNGFixture(width: w, height: h, bitDepth: 8, colorType: 2, samples: PNGDecoderTests.samples(w * h * 3, depth: 8))
      f.interlaced = true
      XCTAssertEqual(try PNGDecoder.decode(f.bytes(), path: "tiny.png"), PNGDecoderTests.expected(f))
    }
  }

  func testEncoderOutputDecodesToTheSamePixels() throws {
    for channels in [1, 3] {
      let image = DecodedImage(width: 17, height: 9, channels: channels, pixels: (0..<(17 * 9 * channels)).map { UInt8(($0 * 29) % 256) })
      XCTAssertEqual(try PNGDecoder.decode(PNGEncoder.encode(image), path: "round.png"), image)
      XCTAssertEqual(try ImageDecoder.decode(PNGEncoder.encode(image), path: "round.png"), image)
    }
  }

  func testDamagedFilesAreRefusedWithTheirPath() {
    let f = PNGFixture(width: 4, height: 3, bitDepth: 8, colorType: 0, samples: PNGDecoderTests.samples(12, depth: 8))
    let good = f.bytes()
    func refused(_ bytes: [UInt8], _ fragment: String, line: UInt = #line) {
      XCTAssertThrowsError(try PNGDecoder.decode(bytes, path: "bad.png"), line: line) { error in
        let text = "\(error)"
        XCTAssertTrue(text.hasPrefix("bad.png: ") && text.contains(fragment), text, line: line)
      }
    }
    refused(Array(good.prefix(40)), "truncated")
    var flipped = good
    flipped[40] ^= 0xFF
    refused(flipped, "CRC")
    refused(f.bytes { $0.removeLast(3) }, "image data")
    refused(f.bytes { $0 += [0, 0, 0, 0, 0] }, "image data")
    refused(f.bytes { $0[0] = 9 }, "filter 9")
    var wrongDepth = f
    wrongDepth.bitDepth = 3
    refused(wrongDepth.bytes(), "bit depth 3")
    var noPalette = f
    noPalette.colorType = 3
    refused(noPalette.bytes(), "PLTE")
    var badIndex = PNGFixture(width: 2, height: 1, bitDepth: 8, colorType: 3, samples: [0, 5])
    badIndex.palette = [1, 2, 3]
    refused(badIndex.bytes(), "palette index 5")
    // A header declaring 100,000 × 100,000 pixels is refused before anything is allocated.
    var huge = Array(good)
    huge.replaceSubrange(16..<24, with: PNGFixture.be32(100_000) + PNGFixture.be32(100_000))
    huge.replaceSubrange(29..<33, with: PNGFixture.be32(PNGFixture.crc(Array(huge[12..<29]))))
    refused(huge, "above the limit")
    refused([], "no PNG signature")
  }

  func testUnknownFormatsAndEmptyFilesAreNamed() {
    XCTAssertThrowsError(try ImageDecoder.decode(Array("GIF89a...".utf8), path: "x.jpg")) { error in
      XCTAssertTrue("\(error)".contains("neither PNG nor JPEG"), "\(error)")
    }
    XCTAssertThrowsError(try ImageDecoder.decode([], path: "empty.png")) { error in
      XCTAssertEqual(error as? ImageError, .corrupt("empty.png", reason: "empty file"))
    }
  }
}
