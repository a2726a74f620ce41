/// Seeded shuffling mini-batches over a dataset, one permutation per epoch.
///
/// The permutation of epoch `e` comes from the run's RNG; the last, smaller batch is kept
/// (like `DataLoader(drop_last=False)`).
public struct Batcher {
  public let count: Int
  public let batchSize: Int

  public init(count: Int, batchSize: Int) {
    precondition(batchSize > 0, "batch size must be positive")
    self.count = count
    self.batchSize = batchSize
  }

  public var batchesPerEpoch: Int { (count + batchSize - 1) / batchSize }

  /// Index slices of one epoch, shuffled with `rng` (or in order when nil).
  public func epoch(rng: RandomSource?) -> [ArraySlice<Int>] { batches(of: order(rng: rng)) }

  /// One epoch's sample order: a permutation drawn from `rng` (identity when nil).
  public func order(rng: RandomSource?) -> [Int] { rng?.permutation(count) ?? Array(0..<count) }

  /// `order` cut into mini-batches.
  public func batches(of order: [Int]) -> [ArraySlice<Int>] {
    stride(from: 0, to: order.count, by: batchSize).map { order[$0..<min($0 + batchSize, order.count)] }
  }
}
