import AutoPruneNN
import Foundation
import XCTest

/// Writes small MNIST-format directories for the loader tests.
struct IDXFixture {
  let directory: URL

  init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("autoprune-idx-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  func remove() { try? FileManager.default.removeItem(at: directory) }

  static func images(_ n: Int, rows: Int = 4, cols: Int = 4) -> [UInt8] {
    IDXArray(shape: [n, rows, cols], bytes: (0..<(n * rows * cols)).map { UInt8($0 % 251) }).encoded()
  }

  static func labels(_ values: [UInt8]) -> [UInt8] { IDXArray(shape: [values.count], bytes: values).encoded() }

  func write(_ name: String, _ bytes: [UInt8], gzip: Bool = false) throws {
    let url = directory.appendingPathComponent(gzip ? name + ".gz" : name)
    try Data(bytes).write(to: url)
    if gzip {
      // The system gzip makes a real stream to decode.
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/bin/sh")
      p.arguments = ["-c", "gzip -c '\(url.path)' > '\(url.path).tmp' && mv '\(url.path).tmp' '\(url.path)'"]
      try p.run()
      p.waitUntilExit()
    }
  }

  /// A valid directory: 6 training and 3 test images of 4×4.
  func writeValid(gzip: Bool = false) throws {
    try write(MNISTFormat.trainImages, IDXFixture.images(6), gzip: gzip)
    try write(MNISTFormat.trainLabels, IDXFixture.labels([0, 1, 2, 3, 4, 9]), gzip: gzip)
    try write(MNISTFormat.testImages, IDXFixture.images(3), gzip: gzip)
    try write(MNISTFormat.testLabels, IDXFixture.labels([5, 6, 7]), gzip: gzip)
  }
}

final class IDXTests: XCTestCase {
  var fixture: IDXFixture!

  override func setUpWithError() throws { fixture = try IDXFixture() }
  override func tearDown() { fixture.remove() }

  private func expect(_ expected: DataError, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try MNISTFormat.load(directory: fixture.directory.path), file: file, line: line) { error in
      XCTAssertEqual(error as? DataError, expected, file: file, line: line)
      XCTAssertFalse("\(error)".contains("\n"), "error must be one line", file: file, line: line)
    }
  }

  private func path(_ name: String) -> String { fixture.directory.appendingPathComponent(name).path }

  func testLoadsRawAndGzipDirectories() throws {
    for gzip in [false, true] {
      fixture.remove()
      fixture = try IDXFixture()
      try fixture.writeValid(gzip: gzip)
      let (train, test) = try MNISTFormat.load(directory: fixture.directory.path)
      XCTAssertEqual(train.count, 6)
      XCTAssertEqual(test.labels, [5, 6, 7])
      XCTAssertEqual(train.sampleShape, [1, 4, 4])
      XCTAssertEqual(Array(train.pixels.prefix(3)), [0, 1, 2])
    }
  }

  func testMissingDirectory() {
    fixture.remove()
    expect(.missingDirectory(fixture.directory.path))
  }

  func testMissingFile() throws {
    try fixture.write(MNISTFormat.trainImages, IDXFixture.images(2))
    expect(.missingFile(directory: fixture.directory.path, expected: MNISTFormat.trainLabels))
  }

  func testWrongMagicNumber() throws {
    try fixture.writeValid()
    var bad = IDXFixture.images(6)
    bad[0] = 0x1f
    bad[1] = 0x00
    try fixture.write(MNISTFormat.trainImages, bad)
    expect(.badMagic(path(MNISTFormat.trainImages), found: "1f 00 08 03"))
  }

  func testDimensionProductDoesNotMatchLength() throws {
    try fixture.writeValid()
    try fixture.write(MNISTFormat.trainImages, Array(IDXFixture.images(6).dropLast(5)))
    expect(.sizeMismatch(path(MNISTFormat.trainImages), expected: 96, actual: 91))
  }

  func testTruncatedGzipStream() throws {
    try fixture.writeValid(gzip: true)
    let url = fixture.directory.appendingPathComponent(MNISTFormat.trainImages + ".gz")
    let data = try Data(contentsOf: url)
    try data.prefix(data.count / 2).write(to: url)
    expect(.truncatedGzip(url.path))
  }

  func testImageAndLabelCountsDiffer() throws {
    try fixture.writeValid()
    try fixture.write(MNISTFormat.trainLabels, IDXFixture.labels([0, 1, 2]))
    expect(.countMismatch(images: path(MNISTFormat.trainImages), imageCount: 6, labels: path(MNISTFormat.trainLabels), labelCount: 3))
  }

  func testLabelOutOfRange() throws {
    try fixture.writeValid()
    try fixture.write(MNISTFormat.testLabels, IDXFixture.labels([5, 10, 7]))
    expect(.labelOutOfRange(path(MNISTFormat.testLabels), index: 1, label: 10, classes: 10))
  }

  func testHugeDimensionsAreRejectedWithoutAllocating() throws {
    // 2^32−1 in every dimension: the product overflows; it must be a size error, not a crash.
    let bytes: [UInt8] = [0, 0, 8, 3] + [UInt8](repeating: 0xff, count: 12) + [1, 2, 3]
    XCTAssertThrowsError(try IDXArray.parse(bytes, path: "x")) { error in
      guard case .sizeMismatch = error as? DataError else { return XCTFail("\(error)") }
    }
  }

  func testBatchNormalisesPixels() throws {
    let data = ImageDataset(pixels: [0, 255, 51, 102], labels: [1, 2], channels: 1, height: 1, width: 2, classes: 10)
    let norm = Normalization(mean: 0.5, std: 0.5)
    let (x, y) = data.batch([1, 0], normalization: norm)
    XCTAssertEqual(y, [2, 1])
    XCTAssertEqual(x.shape, [2, 1, 1, 2])
    XCTAssertEqual(x.storage[0], 0.2 * 2 - 1, accuracy: 1e-6)
    XCTAssertEqual(x.storage[2], -1, accuracy: 1e-6)
    XCTAssertEqual(x.storage[3], 1, accuracy: 1e-6)
  }

  func testBatcherCoversEveryIndexOncePerEpoch() {
    let batches = Batcher(count: 10, batchSize: 3).epoch(rng: RandomSource(seed: 1))
    XCTAssertEqual(batches.map(\.count), [3, 3, 3, 1])
    XCTAssertEqual(batches.flatMap { $0 }.sorted(), Array(0..<10))
  }

  /// `--batch-size 9223372036854775807` overflowed `count + batchSize − 1`.
  func testBatcherTakesTheLargestBatchSizeWithoutOverflow() {
    let batcher = Batcher(count: 10, batchSize: Int.max)
    XCTAssertEqual(batcher.batchesPerEpoch, 1)
    XCTAssertEqual(batcher.epoch(rng: RandomSource(seed: 1)).map(\.count), [10])
    XCTAssertEqual(Batcher(count: 0, batchSize: Int.max).batchesPerEpoch, 0)
  }
}

final class GzipTests: XCTestCase {
  func testExpansionBeyondTheLimitIsAnErrorNotAnAllocation() throws {
    let dir = try IDXFixture()
    defer { dir.remove() }
    // 1 MiB of zeros compresses to ~1 KB; a 64 KiB limit must stop it.
    try dir.write("zeros", [UInt8](repeating: 0, count: 1 << 20), gzip: true)
    let compressed = [UInt8](try Data(contentsOf: dir.directory.appendingPathComponent("zeros.gz")))
    XCTAssertThrowsError(try Gzip.decompress(compressed, path: "zeros.gz", limit: 1 << 16)) { error in
      XCTAssertEqual(error as? DataError, .inflatesBeyond("zeros.gz", limit: 1 << 16))
    }
    XCTAssertEqual(try Gzip.decompress(compressed, path: "zeros.gz").count, 1 << 20)
    XCTAssertEqual(try Gzip.decompress(compressed, path: "zeros.gz", limit: 1 << 20).count, 1 << 20)
    XCTAssertEqual(try Gzip.prefix(compressed, count: 20, path: "zeros.gz"), [UInt8](repeating: 0, count: 20))
  }

  /// A gzip'd IDX file whose stream holds far more than its header declares (a "bomb": a few
  /// KB that inflate to 64 MiB) is refused once the declared size is passed, not inflated whole.
  func testIDXInflatesNoMoreThanItsHeaderDeclares() throws {
    let dir = try IDXFixture()
    defer { dir.remove() }
    let bomb = IDXFixture.labels([1, 2, 3]) + [UInt8](repeating: 0, count: 64 << 20)
    try dir.write("bomb", bomb, gzip: true)
    let path = dir.directory.appendingPathComponent("bomb.gz").path
    XCTAssertLessThan(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int, 200_000)
    XCTAssertThrowsError(try IDXArray.read(path: path)) { error in
      XCTAssertEqual(error as? DataError, .inflatesBeyond(path, limit: 8 + 3))
    }
  }

  /// A header declaring more bytes than any gzip stream of the file's size can inflate to is
  /// refused before anything is allocated.
  func testIDXDeclaringMoreThanTheStreamCanHoldIsRefused() throws {
    let dir = try IDXFixture()
    defer { dir.remove() }
    // 60,000 × 4,096 × 4,096 bytes declared (~1 TB), a few bytes of data.
    try dir.write("huge", [0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0x10, 0, 0, 0, 0x10, 0, 1, 2, 3], gzip: true)
    let path = dir.directory.appendingPathComponent("huge.gz").path
    XCTAssertThrowsError(try IDXArray.read(path: path)) { error in
      guard case .declaredBeyondStream(path, 60_000 * 4_096 * 4_096, _) = error as? DataError else { return XCTFail("\(error)") }
    }
  }
}
