/// Seeded shuffling mini-batches over a dataset, one permutation per epoch.
///
/// The permutation of epoch `e` comes from the run's RNG; the last, smaller batch is kept
/// (like `DataLoader(drop_last=False)`).
public struct Batcher {
  /// Samples in the dataset; batches hold indices in `0..<count`.
  public let count: Int
  /// Samples per batch, clamped to `count` by `init`; an epoch's last batch may be smaller.
  public let batchSize: Int

  /// A batch size above `count` is one batch of everything (so no index arithmetic can
  /// overflow, whatever size is asked for).
  public init(count: Int, batchSize: Int) {
    precondition(batchSize > 0, "batch size must be positive")
    self.count = count
    self.batchSize = min(batchSize, max(1, count))
  }

  /// Batches per epoch, the last partial one included; 0 for an empty dataset.
  public var batchesPerEpoch: Int { count == 0 ? 0 : (count - 1) / batchSize + 1 }

  /// Index slices of one epoch, shuffled with `rng` (or in order when nil).
  public func epoch(rng: RandomSource?) -> [ArraySlice<Int>] { batches(of: order(rng: rng)) }

  /// One epoch's sample order: a permutation drawn from `rng` (identity when nil).
  public func order(rng: RandomSource?) -> [Int] { rng?.permutation(count) ?? Array(0..<count) }

  /// `order` cut into mini-batches.
  public func batches(of order: [Int]) -> [ArraySlice<Int>] {
    stride(from: 0, to: order.count, by: batchSize).map { order[$0..<($0 + min(batchSize, order.count - $0))] }
  }
}
