import Foundation

/// Loads a directory in the MNIST layout (the four standard IDX file names, `.gz` or not), as
/// shipped for MNIST, Fashion-MNIST and KMNIST.
public enum MNISTFormat {
  /// Training images: 60,000 of 28 × 28 pixels in the standard sets.
  public static let trainImages = "train-images-idx3-ubyte"
  /// Training labels, one byte each.
  public static let trainLabels = "train-labels-idx1-ubyte"
  /// Test images: 10,000 of 28 × 28 pixels in the standard sets.
  public static let testImages = "t10k-images-idx3-ubyte"
  /// Test labels, one byte each.
  public static let testLabels = "t10k-labels-idx1-ubyte"
  /// Classes of every dataset in this layout; a label at or above it fails the load.
  public static let classes = 10

  /// True when `directory` holds all four files (compressed or not).
  public static func isPresent(in directory: String) -> Bool {
    [trainImages, trainLabels, testImages, testLabels].allSatisfy { (try? locate($0, in: directory)) != nil }
  }

  /// Train and test splits of `directory`.
  public static func load(directory: String) throws -> (train: ImageDataset, test: ImageDataset) {
    try DataError.checkDirectory(directory)
    let train = try loadSplit(images: trainImages, labels: trainLabels, in: directory)
    let test = try loadSplit(images: testImages, labels: testLabels, in: directory)
    guard train.height == test.height, train.width == test.width else {
      throw DataError.badShape(
        try locate(testImages, in: directory), shape: [test.count, test.height, test.width],
        expected: "images of \(train.height)×\(train.width) like the training set")
    }
    return (train, test)
  }

  /// Finds `name` or `name.gz` in `directory`.
  public static func locate(_ name: String, in directory: String) throws -> String {
    for candidate in [name, name + ".gz"] {
      let path = URL(fileURLWithPath: directory).appendingPathComponent(candidate).path
      if FileBytes.entryExists(path) { return path }
    }
    throw DataError.missingFile(directory: directory, expected: name)
  }

  static func loadSplit(images: String, labels: String, in directory: String) throws -> ImageDataset {
    let imagePath = try locate(images, in: directory)
    let labelPath = try locate(labels, in: directory)
    let imageArray = try IDXArray.read(path: imagePath)
    let labelArray = try IDXArray.read(path: labelPath)
    guard imageArray.shape.count == 3 else {
      throw DataError.badShape(imagePath, shape: imageArray.shape, expected: "3 dimensions (count, rows, columns)")
    }
    guard labelArray.shape.count == 1 else {
      throw DataError.badShape(labelPath, shape: labelArray.shape, expected: "1 dimension (count)")
    }
    // A split with no images, or images of no pixels, would train on nothing and report a
    // test accuracy computed from nothing.
    guard imageArray.shape.allSatisfy({ $0 > 0 }) else {
      throw DataError.badShape(imagePath, shape: imageArray.shape, expected: "at least one image of at least 1×1 pixels")
    }
    guard imageArray.shape[0] == labelArray.shape[0] else {
      throw DataError.countMismatch(
        images: imagePath, imageCount: imageArray.shape[0], labels: labelPath, labelCount: labelArray.shape[0])
    }
    if let bad = labelArray.bytes.firstIndex(where: { Int($0) >= classes }) {
      throw DataError.labelOutOfRange(labelPath, index: bad, label: Int(labelArray.bytes[bad]), classes: classes)
    }
    return ImageDataset(
      pixels: imageArray.bytes, labels: labelArray.bytes.map(Int.init), channels: 1,
      height: imageArray.shape[1], width: imageArray.shape[2], classes: classes)
  }
}
