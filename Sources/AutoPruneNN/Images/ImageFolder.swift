import Foundation

/// The image-folder layout of ImageNet and torchvision's `ImageFolder`: `ROOT/train/CLASS/…`
/// and `ROOT/val/CLASS/…` (or `test`), images `.jpg`, `.jpeg` or `.png` at any depth below the
/// class folder. Classes are the training split's folder names in sorted order (byte order of
/// their UTF-8, as Python's `sorted`), so class `i` is the same as in torchvision.
public struct ImageFolder: Sendable {
  /// The directory holding `train` and `val`.
  public let root: String
  /// Class names; a label is an index into this list.
  public let classes: [String]
  /// Training images and their labels, in sorted path order.
  public let train: [(path: String, label: Int)]
  /// Evaluation images (`val`, or `test` when there is no `val`) and their labels.
  public let validation: [(path: String, label: Int)]

  /// File extensions read, compared without case.
  public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

  /// Whether `directory` looks like an image folder (it has a `train` directory whose entries
  /// are directories).
  public static func isPresent(in directory: String) -> Bool {
    var isDirectory: ObjCBool = false
    let train = (directory as NSString).appendingPathComponent("train")
    guard FileManager.default.fileExists(atPath: train, isDirectory: &isDirectory), isDirectory.boolValue else { return false }
    return !CIFAR10Format.hasAnyBatch(in: directory) && !MNISTFormat.isPresent(in: directory)
  }

  /// Scans `root`: every class folder of `train` must hold an image, and `val`'s class folders
  /// must be among `train`'s.
  public init(root: String) throws {
    try DataError.checkDirectory(root)
    self.root = root
    let trainDirectory = (root as NSString).appendingPathComponent("train")
    try DataError.checkDirectory(trainDirectory)
    let names = try ImageFolder.subdirectories(of: trainDirectory)
    guard !names.isEmpty else { throw DataError.imageFolder(trainDirectory, problem: "no class folders (expected train/CLASS/IMAGE.jpg)") }
    classes = names
    var train: [(String, Int)] = []
    for (label, name) in names.enumerated() {
      let files = try ImageFolder.images(under: (trainDirectory as NSString).appendingPathComponent(name))
      guard !files.isEmpty else { throw DataError.imageFolder((trainDirectory as NSString).appendingPathComponent(name), problem: "no .jpg, .jpeg or .png file in the class folder") }
      train += files.map { ($0, label) }
    }
    self.train = train
    let fileManager = FileManager.default
    guard let split = ["val", "test"].map({ (root as NSString).appendingPathComponent($0) }).first(where: { fileManager.fileExists(atPath: $0) }) else {
      throw DataError.imageFolder(root, problem: "no val (or test) folder beside train")
    }
    try DataError.checkDirectory(split)
    let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
    var validation: [(String, Int)] = []
    for name in try ImageFolder.subdirectories(of: split) {
      guard let label = index[name] else {
        throw DataError.imageFolder((split as NSString).appendingPathComponent(name), problem: "class '\(name)' is not among train's \(names.count) classes")
      }
      validation += try ImageFolder.images(under: (split as NSString).appendingPathComponent(name)).map { ($0, label) }
    }
    guard !validation.isEmpty else { throw DataError.imageFolder(split, problem: "no images") }
    self.validation = validation
  }

  /// Sorted names of the directories in `directory` (hidden ones skipped).
  static func subdirectories(of directory: String) throws -> [String] {
    let entries: [String]
    do { entries = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
      throw DataError.unreadable(directory, reason: "cannot list the directory")
    }
    return entries.filter { name in
      var isDirectory: ObjCBool = false
      return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(name), isDirectory: &isDirectory) && isDirectory.boolValue
    }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
  }

  /// Image files at any depth under `directory`, sorted by path.
  static func images(under directory: String) throws -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: directory) else {
      throw DataError.unreadable(directory, reason: "cannot list the directory")
    }
    var found: [String] = []
    while let relative = walker.nextObject() as? String {
      let name = (relative as NSString).lastPathComponent
      if name.hasPrefix(".") { continue }
      if extensions.contains((name as NSString).pathExtension.lowercased()) {
        found.append((directory as NSString).appendingPathComponent(relative))
      }
    }
    return found.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
  }
}
