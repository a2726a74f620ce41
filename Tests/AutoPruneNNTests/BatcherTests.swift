import AutoPruneNN
import Foundation
import XCTest

/// Mini-batch order and sizes.
final class BatcherTests: XCTestCase {
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
