import AutoPruneNN
import Foundation
import XCTest

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
}
