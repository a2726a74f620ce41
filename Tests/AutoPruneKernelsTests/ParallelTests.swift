import Foundation
import XCTest

import AutoPruneKernels

final class ParallelTests: XCTestCase {
  override func tearDown() { Parallel.threads = Parallel.coreCount }

  /// Every chunk runs exactly once, back to back (workers polling), after a pause long enough for
  /// them to sleep, and with nested calls that must run serially inside a chunk.
  func testEveryChunkRunsOnceAcrossBurstsPausesAndNesting() {
    Parallel.threads = max(2, Parallel.coreCount)
    for round in 0..<300 {
      let chunks = 1 + round % 13
      var counts = [Int](repeating: 0, count: chunks * 4)
      counts.withUnsafeMutableBufferPointer { buffer in
        let shared = SharedPointer(buffer.baseAddress!)
        Parallel.forEach(chunks) { c in
          // Nested: serial on this thread, so the inner chunks of `c` have no other writer (a
          // single chunk runs as a plain call, free to split its own work).
          XCTAssertEqual(Parallel.isWorker, chunks > 1)
          Parallel.forEach(4) { inner in shared[c * 4 + inner] += 1 }
        }
      }
      XCTAssertEqual(counts, [Int](repeating: 1, count: chunks * 4), "round \(round)")
      XCTAssertFalse(Parallel.isWorker)
      if round % 100 == 99 { usleep(5_000) }  // longer than the workers poll: they sleep and must wake
    }
  }

  /// Callers on several threads at once: one gets the workers, the others run their chunks
  /// themselves; all results are complete.
  func testConcurrentCallersAllFinish() {
    Parallel.threads = max(2, Parallel.coreCount)
    let callers = 4
    let sums = UnsafeMutableBufferPointer<Int>.allocate(capacity: callers)
    defer { sums.deallocate() }
    sums.initialize(repeating: 0)
    let shared = SharedPointer(sums.baseAddress!)
    DispatchQueue.concurrentPerform(iterations: callers) { caller in
      for _ in 0..<200 {
        var parts = [Int](repeating: 0, count: 8)
        parts.withUnsafeMutableBufferPointer { p in
          let out = SharedPointer(p.baseAddress!)
          Parallel.forEach(8) { c in out[c] = c + 1 }
        }
        shared[caller] += parts.reduce(0, +)
      }
    }
    XCTAssertEqual(Array(sums), [Int](repeating: 200 * 36, count: callers))
  }
}
