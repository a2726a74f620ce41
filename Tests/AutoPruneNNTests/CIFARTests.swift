import Foundation
import XCTest

import AutoPruneNN

final class CIFARTests: XCTestCase {
  private var dir: URL!

  override func setUpWithError() throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("cifar-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

  /// `records` records; record r has label `(r + offset) % 10` and pixel i of its 3072 = (r + i) % 251.
  private func batch(_ records: Int, offset: Int = 0) -> Data {
    var bytes: [UInt8] = []
    for r in 0..<records {
      bytes.append(UInt8((r + offset) % 10))
      bytes += (0..<3072).map { UInt8((r + $0) % 251) }
    }
    return Data(bytes)
  }

  private func writeAll(in folder: URL, records: Int = 2) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    for (i, name) in CIFAR10Format.trainFiles.enumerated() { try batch(records, offset: i).write(to: folder.appendingPathComponent(name)) }
    try batch(3, offset: 7).write(to: folder.appendingPathComponent(CIFAR10Format.testFile))
  }

  func testLoadsAllBatchesInOrderAsNCHW() throws {
    try writeAll(in: dir)
    let (train, test) = try CIFAR10Format.load(directory: dir.path)
    XCTAssertEqual(train.count, 10)
    XCTAssertEqual(test.count, 3)
    XCTAssertEqual(train.sampleShape, [3, 32, 32])
    XCTAssertEqual(train.labels, [0, 1, 1, 2, 2, 3, 3, 4, 4, 5])
    XCTAssertEqual(test.labels, [7, 8, 9])
    // Record 1 of batch 1: red plane first, row-major: pixel (c=1, y=0, x=3) is byte 1024 + 3.
    XCTAssertEqual(train.pixels[3072 + 1024 + 3], UInt8((1 + 1024 + 3) % 251))
  }

  func testExtractedFolderInsideTheDirectoryIsFound() throws {
    try writeAll(in: dir.appendingPathComponent("cifar-10-batches-bin"))
    XCTAssertTrue(CIFAR10Format.isPresent(in: dir.path))
    XCTAssertEqual(try CIFAR10Format.load(directory: dir.path).train.count, 10)
  }

  /// Gzip'd batches (`data_batch_1.bin.gz`) load like plain ones: they were reported missing.
  func testGzippedBatchesLoad() throws {
    try writeAll(in: dir)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", "gzip '\(dir.path)'/*.bin"]
    try p.run()
    p.waitUntilExit()
    XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("test_batch.bin.gz").path))
    XCTAssertTrue(CIFAR10Format.isPresent(in: dir.path))
    let (train, test) = try CIFAR10Format.load(directory: dir.path)
    XCTAssertEqual(train.labels, [0, 1, 1, 2, 2, 3, 3, 4, 4, 5])
    XCTAssertEqual(test.count, 3)
  }

  func testBadFilesAreNamed() throws {
    try writeAll(in: dir)
    let third = dir.appendingPathComponent("data_batch_3.bin")
    var bytes = batch(2)
    bytes.removeLast(5)
    try bytes.write(to: third)
    XCTAssertThrowsError(try CIFAR10Format.load(directory: dir.path)) {
      XCTAssertEqual("\($0)", "\(third.path): 6141 bytes is not a whole number of 3073-byte records (1 whole, 3068 bytes left over)")
    }
    try Data().write(to: third)
    XCTAssertThrowsError(try CIFAR10Format.load(directory: dir.path)) { XCTAssertEqual("\($0)", "\(third.path): empty file") }
    var labelled = [UInt8](batch(2))
    labelled[3073] = 10
    try Data(labelled).write(to: third)
    XCTAssertThrowsError(try CIFAR10Format.load(directory: dir.path)) {
      XCTAssertEqual("\($0)", "\(third.path): label 10 at index 1 is not below the class count 10")
    }
    try FileManager.default.removeItem(at: third)
    XCTAssertThrowsError(try CIFAR10Format.load(directory: dir.path)) { XCTAssertTrue("\($0)".contains("no data_batch_3.bin"), "\($0)") }
    XCTAssertThrowsError(try CIFAR10Format.load(directory: dir.appendingPathComponent("nope").path)) {
      XCTAssertTrue("\($0)".contains("not found"), "\($0)")
    }
  }

  func testPaddingCentresTheImage() {
    let data = ImageDataset(pixels: (0..<(2 * 28 * 28)).map { UInt8($0 % 200 + 1) }, labels: [3, 4], channels: 1, height: 28, width: 28, classes: 10)
    let padded = data.padded(to: 32)
    XCTAssertEqual(padded.sampleShape, [1, 32, 32])
    XCTAssertEqual(padded.labels, [3, 4])
    XCTAssertEqual(padded.pixels[2 * 32 + 2], data.pixels[0])  // (0, 0) → (2, 2)
    XCTAssertEqual(padded.pixels[32 * 32 + 29 * 32 + 29], data.pixels[784 + 27 * 28 + 27])
    XCTAssertEqual(padded.pixels[0], 0)
    XCTAssertEqual(padded.pixels.filter { $0 == 0 }.count, 2 * (32 * 32 - 28 * 28), "only the border is black")
  }

  /// Every augmented image is the original shifted by at most `padding` and maybe mirrored,
  /// with `fill` where the shift uncovers the border; a seed fixes the result.
  func testAugmentationCropsAndFlipsWithinBounds() {
    let h = 6, w = 5, n = 40
    let original = Tensor(shape: [n, 2, h, w], values: (0..<(n * 2 * h * w)).map { Float($0 % (2 * h * w)) + 1 })
    var a = original, b = original
    let augmentation = Augmentation(padding: 2, flip: true)
    augmentation.apply(to: &a, fill: [-9, -9], rng: RandomSource(seed: 5))
    augmentation.apply(to: &b, fill: [-9, -9], rng: RandomSource(seed: 5))
    XCTAssertEqual(a.storage, b.storage)
    var seen = Set<String>()
    for s in 0..<n {
      let image = Array(a.storage[(s * 2 * h * w)..<((s + 1) * 2 * h * w)])
      var match: String?
      for dy in -2...2 {
        for dx in -2...2 {
          for mirror in [false, true] {
            var expected = [Float](repeating: -9, count: 2 * h * w)
            for c in 0..<2 { for y in 0..<h { for x in 0..<w {
              let sy = y + dy, sx = (mirror ? w - 1 - x : x) + dx
              if sy >= 0 && sy < h && sx >= 0 && sx < w { expected[c * h * w + y * w + x] = original[c * h * w + sy * w + sx] }
            } } }
            if expected == image { match = "\(dy),\(dx),\(mirror)" }
          }
        }
      }
      XCTAssertNotNil(match, "sample \(s) is not a shifted/mirrored copy")
      if let match { seen.insert(match) }
    }
    XCTAssertGreaterThan(seen.count, 10, "crops vary across the batch")
    var same = original
    Augmentation(padding: 0, flip: false).apply(to: &same, fill: [0, 0], rng: RandomSource(seed: 1))
    XCTAssertEqual(same.storage, original.storage)
  }
}
