import Foundation

/// Loads CIFAR-10 in its binary layout: `data_batch_1.bin` … `data_batch_5.bin` and
/// `test_batch.bin`, each a run of 3,073-byte records (one label byte 0–9, then the 32 × 32 red,
/// green and blue planes, rows top to bottom). A directory holding the extracted
/// `cifar-10-batches-bin/` folder works too.
public enum CIFAR10Format {
  /// The five training batches of 10,000 images each, loaded in this order.
  public static let trainFiles = (1...5).map { "data_batch_\($0).bin" }
  /// The test batch of 10,000 images.
  public static let testFile = "test_batch.bin"
  /// Image height and width in pixels.
  public static let side = 32
  /// Red, green and blue planes.
  public static let channels = 3
  /// Bytes per image record: one label byte, then 3 × 32 × 32 pixel bytes.
  public static let recordSize = 1 + 3 * 32 * 32
  /// Labels run 0–9; a higher one fails the load.
  public static let classes = 10
  /// Class names by label, as in the archive's `batches.meta.txt`.
  public static let labelNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

  /// Where batches may be: `directory` itself, or the `cifar-10-batches-bin` the archive
  /// unpacks into.
  public static func folders(_ directory: String) -> [String] {
    [directory, (directory as NSString).appendingPathComponent("cifar-10-batches-bin")]
  }

  /// The directory that holds the batches: `directory` or its `cifar-10-batches-bin`, if either does.
  public static func batchDirectory(_ directory: String) -> String? {
    folders(directory).first { d in
      locate(testFile, in: d) != nil && locate(trainFiles[0], in: d) != nil
    }
  }

  /// `name` or `name.gz` in `directory`, if either is there (a broken link counts, so reading
  /// it says what is wrong).
  static func locate(_ name: String, in directory: String) -> String? {
    [name, name + ".gz"].map { (directory as NSString).appendingPathComponent($0) }.first(where: FileBytes.entryExists)
  }

  /// True when `directory` or its `cifar-10-batches-bin` holds the test batch and the first
  /// training batch; the other four are checked by `load`.
  public static func isPresent(in directory: String) -> Bool { batchDirectory(directory) != nil }

  /// True when `directory` (or its `cifar-10-batches-bin`) holds any CIFAR-10 batch file, so a
  /// directory with some batches missing is reported as CIFAR, naming the missing one.
  public static func hasAnyBatch(in directory: String) -> Bool {
    folders(directory).contains { d in
      (trainFiles + [testFile]).contains { locate($0, in: d) != nil }
    }
  }

  /// Train (all five batches, in order) and test splits.
  public static func load(directory: String) throws -> (train: ImageDataset, test: ImageDataset) {
    try DataError.checkDirectory(directory)
    guard let root = batchDirectory(directory) else {
      throw DataError.missingFile(directory: directory, expected: "\(testFile) and \(trainFiles[0])")
    }
    var pixels: [UInt8] = [], labels: [Int] = []
    for name in trainFiles {
      guard let path = locate(name, in: root) else { throw DataError.missingFile(directory: root, expected: name) }
      try read(path, pixels: &pixels, labels: &labels)
    }
    var testPixels: [UInt8] = [], testLabels: [Int] = []
    guard let testPath = locate(testFile, in: root) else { throw DataError.missingFile(directory: root, expected: testFile) }
    try read(testPath, pixels: &testPixels, labels: &testLabels)
    let train = ImageDataset(pixels: pixels, labels: labels, channels: channels, height: side, width: side, classes: classes)
    let test = ImageDataset(pixels: testPixels, labels: testLabels, channels: channels, height: side, width: side, classes: classes)
    return (train, test)
  }

  /// Appends the records of one batch file, checking its size and every label.
  static func read(_ path: String, pixels: inout [UInt8], labels: inout [Int]) throws {
    var data = try FileBytes.read(path)
    if Gzip.isCompressed(data) {
      // No header declares the size: bound it by deflate's ratio and by two full batches
      // (10,000 records each), so a small gzip cannot make the reader allocate much more.
      let limit = min(data.count.multipliedReportingOverflow(by: Gzip.maximumRatio).partialValue, 2 * 10_000 * recordSize)
      data = try Gzip.decompress(data, path: path, limit: limit)
    }
    guard !data.isEmpty, data.count % recordSize == 0 else {
      throw DataError.recordSize(path, bytes: data.count, record: recordSize)
    }
    let records = data.count / recordSize
    pixels.reserveCapacity(pixels.count + records * (recordSize - 1))
    try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
      let bytes = raw.bindMemory(to: UInt8.self)
      for r in 0..<records {
        let base = r * recordSize
        let label = Int(bytes[base])
        guard label < classes else { throw DataError.labelOutOfRange(path, index: r, label: label, classes: classes) }
        labels.append(label)
        pixels.append(contentsOf: bytes[(base + 1)..<(base + recordSize)])
      }
    }
  }
}
