import AutoPruneKernels
import Foundation
import Synchronization

/// One split of an image folder, decoded batch by batch on worker threads (never held in
/// memory: ImageNet's training split is 140 GB of JPEG) and transformed the torchvision way.
///
/// A file that cannot be decoded (corrupt, truncated, an unsupported kind) is *skipped*: it is
/// reported once, by path and reason, through `onSkip`, and the batch takes the next readable
/// image of the split in its place — one bad file in a million should not end a day-long run.
/// The run is refused instead when no decoder exists (libturbojpeg missing: every JPEG would
/// fail) or when more than half of the images read so far (at least 8) were bad: then the
/// folder, not a file, is wrong.
public final class ImageFolderDataset: LabelledImages, @unchecked Sendable {
  /// Image paths, in the folder's sorted order.
  public let paths: [String]
  /// Class of each image, the index of its class folder in `classNames`.
  public let labels: [Int]
  /// Number of class folders.
  public let classes: Int
  /// The class names, label `i` being `classNames[i]`.
  public let classNames: [String]
  /// How a file becomes an input (random crop for training, centre crop for evaluation).
  public let transform: ImageFolderTransform
  /// Threads decoding a batch (default: the cores the run uses).
  public let decodeThreads: Int
  /// Hears about each skipped file once (default: a line on standard error).
  public let onSkip: @Sendable (ImageError) -> Void

  private struct Tally {
    var skipped: [String: ImageError] = [:]
    var decoded = 0
  }
  /// Shared with the copies `sample` makes, so a file is reported once per set.
  private final class SharedTally: Sendable {
    let state = Mutex(Tally())
  }
  private let shared: SharedTally

  /// A split of `folder` (`training`: its train split with the training transform, else its
  /// validation split with the evaluation transform) as `size × size` RGB inputs.
  public convenience init(
    _ folder: ImageFolder, training: Bool, size: Int, cropScale: ClosedRange<Double> = 0.08...1, decodeThreads: Int = Parallel.threads,
    onSkip: @escaping @Sendable (ImageError) -> Void = ImageFolderDataset.warn
  ) {
    let files = training ? folder.train : folder.validation
    self.init(
      paths: files.map(\.path), labels: files.map(\.label), classNames: folder.classes,
      transform: ImageFolderTransform(size: size, training: training, scale: cropScale), decodeThreads: decodeThreads, onSkip: onSkip)
  }

  /// Any list of files and labels (labels in `0..<classNames.count`).
  public convenience init(
    paths: [String], labels: [Int], classNames: [String], transform: ImageFolderTransform, decodeThreads: Int = Parallel.threads,
    onSkip: @escaping @Sendable (ImageError) -> Void = ImageFolderDataset.warn
  ) {
    self.init(paths: paths, labels: labels, classNames: classNames, transform: transform, decodeThreads: decodeThreads, onSkip: onSkip, tally: SharedTally())
  }

  private init(
    paths: [String], labels: [Int], classNames: [String], transform: ImageFolderTransform, decodeThreads: Int,
    onSkip: @escaping @Sendable (ImageError) -> Void, tally: SharedTally
  ) {
    shared = tally
    precondition(paths.count == labels.count && !paths.isEmpty, "one label per path, at least one image")
    precondition(labels.allSatisfy { (0..<classNames.count).contains($0) }, "labels index the class names")
    self.paths = paths
    self.labels = labels
    self.classNames = classNames
    self.classes = classNames.count
    self.transform = transform
    self.decodeThreads = max(1, decodeThreads)
    self.onSkip = onSkip
  }

  /// The default `onSkip`: one line on standard error.
  @Sendable public static func warn(_ error: ImageError) {
    FileHandle.standardError.write(Data("warning: skipping \(error); the next readable image takes its place\n".utf8))
  }

  /// Images in the split.
  public var count: Int { paths.count }
  /// RGB crops of the transform's size: `[3, size, size]`.
  public var sampleShape: [Int] { [3, transform.size, transform.size] }
  /// Decoding is slow next to reading memory: batches are made ahead.
  public var prefetches: Bool { true }

  /// Files skipped so far, with why.
  public var skipped: [String: ImageError] { shared.state.withLock { $0.skipped } }

  /// One decoded, transformed image (RGB bytes, planar) for sample `index`, or the next readable
  /// one after it; the label of the image used.
  func load(_ index: Int, rng: RandomSource, into out: UnsafeMutablePointer<UInt8>) throws -> Int {
    var candidate = index
    for _ in 0..<min(count, 64) {
      let path = paths[candidate]
      if shared.state.withLock({ $0.skipped[path] == nil }) {
        do {
          let image = try ImageDecoder.decode(file: path).rgb()
          shared.state.withLock { $0.decoded += 1 }
          transform.apply(image, rng: rng, into: out)
          return labels[candidate]
        } catch let error as ImageError {
          if case .noDecoder = error { throw error }
          try record(error, path: path)
        } catch let error as DataError {
          try record(ImageError.corrupt(path, reason: error.description), path: path)
        }
      }
      candidate = (candidate + 1) % count
    }
    throw DataError.unreadableImages(paths[index], count: skipped.count, checked: skipped.count)
  }

  private func record(_ error: ImageError, path: String) throws {
    let (isNew, bad, total) = shared.state.withLock { t -> (Bool, Int, Int) in
      let isNew = t.skipped.updateValue(error, forKey: path) == nil
      return (isNew, t.skipped.count, t.skipped.count + t.decoded)
    }
    if bad >= 8 && 2 * bad > total { throw DataError.unreadableImages(path, count: bad, checked: total) }
    if isNew { onSkip(error) }
  }

  /// Decodes `indices` on `decodeThreads` threads; sample `i` of the batch draws its crop from
  /// a generator seeded by (`seed`, `i`), so the batch is the same on any thread count.
  public func batch(_ indices: ArraySlice<Int>, normalization: Normalization, seed: UInt64) throws -> (images: Tensor, labels: [Int]) {
    let raw = try decode(Array(indices), seed: seed)
    return raw.batch(ArraySlice(0..<raw.count), normalization: normalization)
  }

  /// The bytes of `indices` as an in-memory set (what `batch` normalises).
  func decode(_ indices: [Int], seed: UInt64) throws -> ImageDataset {
    let size = 3 * transform.size * transform.size
    var pixels = [UInt8](repeating: 0, count: indices.count * size)
    var used = [Int](repeating: 0, count: indices.count)
    let failure = Mutex<(any Error)?>(nil)
    let workers = min(decodeThreads, indices.count)
    pixels.withUnsafeMutableBufferPointer { px in
      used.withUnsafeMutableBufferPointer { labelsOut in
        let out = SharedPointer(px.baseAddress!), labelPointer = SharedPointer(labelsOut.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
          for i in stride(from: worker, to: indices.count, by: workers) {
            let rng = RandomSource(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i) &* 0xD1B5_4A32_D192_ED03 &+ 1)
            do { labelPointer[i] = try load(indices[i], rng: rng, into: out + i * size) } catch {
              failure.withLock { if $0 == nil { $0 = error } }
              return
            }
          }
        }
      }
    }
    if let error = failure.withLock({ $0 }) { throw error }
    return ImageDataset(pixels: pixels, labels: used, channels: 3, height: transform.size, width: transform.size, classes: classes)
  }

  /// Up to `limit` images spread evenly over the split, through the evaluation transform.
  public func sample(limit: Int) throws -> ImageDataset {
    let n = min(limit, count)
    let evaluation = ImageFolderDataset(
      paths: paths, labels: labels, classNames: classNames,
      transform: ImageFolderTransform(size: transform.size, training: false), decodeThreads: decodeThreads, onSkip: onSkip, tally: shared)
    return try evaluation.decode((0..<n).map { $0 * count / n }, seed: 0)
  }
}
