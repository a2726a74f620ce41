import AutoPruneNN
import Foundation
import XCTest

/// The image-folder layout: classes from sorted folder names, splits, what is refused, and the
/// decoding dataset (bad files skipped and reported, batches fixed by their seed).
final class ImageFolderTests: XCTestCase {
  var root: URL!

  override func setUpWithError() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("autoprune-folder-\(UUID().uuidString)")
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

  /// A `side × side` PNG of one grey level.
  static func png(_ level: UInt8, side: Int = 6) -> Data {
    Data(PNGEncoder.encode(DecodedImage(width: side, height: side, channels: 1, pixels: [UInt8](repeating: level, count: side * side))))
  }

  func put(_ relative: String, _ data: Data) throws {
    let url = root.appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try data.write(to: url)
  }

  func testClassesAreSortedFolderNamesAndFilesAreFoundAtAnyDepth() throws {
    try put("train/zebra/a.png", Self.png(10))
    try put("train/Apple/deep/er/b.PNG", Self.png(20))
    try put("train/apple/c.png", Self.png(30))
    try put("train/apple/notes.txt", Data("not an image".utf8))
    try put("train/apple/.hidden.png", Self.png(40))
    try put("train/.cache/d.png", Self.png(50))
    try put("val/zebra/e.png", Self.png(60))
    let folder = try ImageFolder(root: root.path)
    XCTAssertEqual(folder.classes, ["Apple", "apple", "zebra"])  // byte order, as Python's sorted
    XCTAssertEqual(folder.train.map { ($0.path as NSString).lastPathComponent }, ["b.PNG", "c.png", "a.png"])
    XCTAssertEqual(folder.train.map(\.label), [0, 1, 2])
    XCTAssertEqual(folder.validation.map(\.label), [2])
    XCTAssertTrue(ImageFolder.isPresent(in: root.path))
  }

  func testLayoutsThatCannotBeReadAreRefusedWithThePath() throws {
    func refused(_ fragment: String, line: UInt = #line) {
      XCTAssertThrowsError(try ImageFolder(root: root.path), line: line) { error in
        XCTAssertTrue("\(error)".contains(fragment), "\(error)", line: line)
      }
    }
    refused("not found")
    try FileManager.default.createDirectory(at: root.appendingPathComponent("train"), withIntermediateDirectories: true)
    refused("no class folders")
    try FileManager.default.createDirectory(at: root.appendingPathComponent("train/cat"), withIntermediateDirectories: true)
    refused("train/cat: no .jpg, .jpeg or .png file")
    try put("train/cat/1.png", Self.png(1))
    refused("no val (or test) folder")
    try put("val/dog/1.png", Self.png(1))
    refused("class 'dog' is not among train's 1 classes")
    try FileManager.default.removeItem(at: root.appendingPathComponent("val"))
    try put("test/cat/2.png", Self.png(2))
    XCTAssertEqual(try ImageFolder(root: root.path).validation.count, 1)  // `test` when there is no `val`
  }

  func testACorruptFileIsSkippedReportedOnceAndReplacedByTheNextImage() throws {
    try put("train/a/1.png", Self.png(10))
    try put("train/a/2.png", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]))
    try put("train/b/3.png", Self.png(200))
    try put("val/a/4.png", Self.png(10))
    let folder = try ImageFolder(root: root.path)
    let reports = LockedList()
    // The training files through the evaluation transform (no random crop to reason about).
    let data = ImageFolderDataset(
      paths: folder.train.map(\.path), labels: folder.train.map(\.label), classNames: folder.classes,
      transform: ImageFolderTransform(size: 4, training: false), decodeThreads: 2) { reports.append("\($0)") }
    let identity = Normalization(mean: 0, std: 1)
    for _ in 0..<2 {
      let (images, labels) = try data.batch([0, 1, 2][...], normalization: identity, seed: 5)
      XCTAssertEqual(labels, [0, 1, 1])  // sample 1 (corrupt, class a) became sample 2 (class b)
      XCTAssertEqual(images.storage[0], 10 / 255, accuracy: 1e-6)
      XCTAssertEqual(images.storage[((1 * 3 + 2) * 4 + 3) * 4 + 3], 200 / 255, accuracy: 1e-6)  // [1, 2, 3, 3]
    }
    XCTAssertEqual(reports.items.count, 1, "\(reports.items)")
    XCTAssertTrue(reports.items[0].contains("2.png: corrupt image"), reports.items[0])
    XCTAssertEqual(data.skipped.keys.map { ($0 as NSString).lastPathComponent }, ["2.png"])
  }

  func testAFolderOfMostlyBadFilesIsRefusedNotTrainedOn() throws {
    for i in 0..<12 { try put("train/a/\(i).png", Data("junk \(i)".utf8)) }
    try put("train/a/good.png", Self.png(1))
    try put("val/a/1.png", Self.png(1))
    let data = ImageFolderDataset(try ImageFolder(root: root.path), training: true, size: 4) { _ in }
    XCTAssertThrowsError(try data.batch(Array(0..<12)[...], normalization: Normalization(mean: 0, std: 1), seed: 1)) { error in
      XCTAssertTrue("\(error)".contains("could not be decoded"), "\(error)")
    }
  }

  /// The crops of a batch depend on its seed alone, not on the decoding threads.
  func testBatchesAreFixedByTheirSeedOnAnyThreadCount() throws {
    for i in 0..<6 {
      let image = DecodedImage(width: 20, height: 15, channels: 3, pixels: (0..<900).map { UInt8(($0 * (i + 3)) % 256) })
      try put("train/c\(i % 2)/\(i).png", Data(PNGEncoder.encode(image)))
    }
    try put("val/c0/v.png", Self.png(3))
    let folder = try ImageFolder(root: root.path)
    let one = ImageFolderDataset(folder, training: true, size: 8, decodeThreads: 1)
    let three = ImageFolderDataset(folder, training: true, size: 8, decodeThreads: 3)
    let n = Normalization(mean: 0.5, std: 0.25)
    let a = try one.batch([5, 0, 3, 1][...], normalization: n, seed: 9), b = try three.batch([5, 0, 3, 1][...], normalization: n, seed: 9)
    XCTAssertEqual(a.images.storage, b.images.storage)
    XCTAssertEqual(a.labels, [1, 0, 1, 0])  // c0 holds 0, 2, 4; c1 holds 1, 3, 5
    XCTAssertNotEqual(try one.batch([5, 0, 3, 1][...], normalization: n, seed: 10).images.storage, a.images.storage)
    XCTAssertEqual(try one.sample(limit: 4).count, 4)
  }

  func testWriterMakesAFolderTheScannerReadsBack() throws {
    let pixels = (0..<(5 * 28 * 28)).map { UInt8($0 % 251) }
    let data = ImageDataset(pixels: pixels, labels: [0, 1, 2, 1, 0], channels: 1, height: 28, width: 28, classes: 12)
    try ImageFolderWriter.write(train: data, validation: data.prefix(2), to: root.path, size: 16, format: .png)
    let folder = try ImageFolder(root: root.path)
    XCTAssertEqual(folder.classes, ["00", "01", "02"])  // zero-padded for 12 classes; only those with images
    XCTAssertEqual(folder.train.map(\.label), [0, 0, 1, 1, 2])
    let image = try ImageDecoder.decode(file: folder.train[0].path)
    XCTAssertEqual([image.width, image.height, image.channels], [16, 16, 3])
  }
}

/// A list appended to from decoding threads.
final class LockedList: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [String] = []
  func append(_ s: String) { lock.withLock { list.append(s) } }
  var items: [String] { lock.withLock { list } }
}
