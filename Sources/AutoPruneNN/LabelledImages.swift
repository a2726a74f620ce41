/// A labelled image set a trainer reads in mini-batches: held in memory (`ImageDataset`) or
/// decoded from files batch by batch (`ImageFolderDataset`).
public protocol LabelledImages: Sendable {
  /// Images in the set.
  var count: Int { get }
  /// Class of each image, in `0..<classes`.
  var labels: [Int] { get }
  /// Width of a classifier's output for this set.
  var classes: Int { get }
  /// One input's shape, `[C, H, W]`.
  var sampleShape: [Int] { get }
  /// Whether a batch is slow to make (decoding files), so a trainer should make the next one
  /// while the current one trains.
  var prefetches: Bool { get }
  /// Images `indices` as a normalised `[n, C, H, W]` tensor, and their labels. `seed` fixes any
  /// random transform of the batch (one seed per batch, so batches can be made ahead, on any
  /// thread, and a resumed run makes the same ones).
  func batch(_ indices: ArraySlice<Int>, normalization: Normalization, seed: UInt64) throws -> (images: Tensor, labels: [Int])
  /// Bytes 0–255 of up to `limit` images spread over the set (without random transforms),
  /// to fit a normalisation to.
  func sample(limit: Int) throws -> ImageDataset
}

extension ImageDataset: LabelledImages {
  /// Batches are slices of memory: no reason to make them ahead.
  public var prefetches: Bool { false }

  /// `batch(_:normalization:)`; nothing here is random (augmentation is the trainer's).
  public func batch(_ indices: ArraySlice<Int>, normalization: Normalization, seed: UInt64) -> (images: Tensor, labels: [Int]) {
    batch(indices, normalization: normalization)
  }

  /// The whole set: fitting reads every image in memory.
  public func sample(limit: Int) -> ImageDataset { self }
}
