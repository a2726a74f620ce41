import AutoPruneNN
import Foundation
import XCTest

/// Batches made one ahead come out as if made one by one: in order, errors where they belong,
/// and a batch asked out of order made on the spot.
final class BatchPrefetcherTests: XCTestCase {
  struct Broken: Error, Equatable { let index: Int }

  static func batch(_ k: Int) -> BatchPrefetcher.Batch { (Tensor(shape: [1], values: [Float(k)]), [k]) }

  func testBatchesComeOutInOrderWithAndWithoutPrefetching() throws {
    for ahead in [false, true] {
      let made = LockedList()
      let prefetcher = BatchPrefetcher(count: 5, ahead: ahead) { k in
        made.append("\(k)")
        return BatchPrefetcherTests.batch(k)
      }
      for k in 0..<5 { XCTAssertEqual(try prefetcher.batch(k).labels, [k]) }
      XCTAssertEqual(made.items.sorted(), ["0", "1", "2", "3", "4"], "each batch made once")
    }
  }

  func testAnErrorSurfacesAtItsOwnBatch() throws {
    let prefetcher = BatchPrefetcher(count: 4, ahead: true) { k in
      if k == 2 { throw Broken(index: k) }
      return BatchPrefetcherTests.batch(k)
    }
    XCTAssertEqual(try prefetcher.batch(0).labels, [0])
    XCTAssertEqual(try prefetcher.batch(1).labels, [1])  // batch 2 fails in the background meanwhile
    XCTAssertThrowsError(try prefetcher.batch(2)) { XCTAssertEqual($0 as? Broken, Broken(index: 2)) }
    XCTAssertEqual(try prefetcher.batch(3).labels, [3])
  }

  /// A resumed epoch starts mid-way: the batch asked is made, the one prefetched is dropped.
  func testABatchAskedOutOfOrderIsMadeOnTheSpot() throws {
    let prefetcher = BatchPrefetcher(count: 6, ahead: true) { k in BatchPrefetcherTests.batch(k) }
    XCTAssertEqual(try prefetcher.batch(0).labels, [0])
    XCTAssertEqual(try prefetcher.batch(4).labels, [4])
    XCTAssertEqual(try prefetcher.batch(5).labels, [5])
  }
}
