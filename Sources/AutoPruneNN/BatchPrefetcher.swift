import Foundation

/// Makes batch `k + 1` on a background thread while batch `k` trains, for sets whose batches are
/// slow to make (`LabelledImages.prefetches`); for the others every batch is made when asked.
/// Batches come out in the order asked, identical to making them one by one (each is a pure
/// function of its index).
public final class BatchPrefetcher: @unchecked Sendable {
  /// What one batch is.
  public typealias Batch = (images: Tensor, labels: [Int])

  private let count: Int
  private let make: @Sendable (Int) throws -> Batch
  private let ahead: Bool
  private var pending: (index: Int, done: DispatchSemaphore, result: ResultBox)?

  private final class ResultBox: @unchecked Sendable {
    var result: Result<Batch, any Error>?
  }

  /// Batches `0..<count`, batch `k` being `make(k)`; `ahead` turns prefetching on.
  public init(count: Int, ahead: Bool, make: @escaping @Sendable (Int) throws -> Batch) {
    self.count = count
    self.ahead = ahead
    self.make = make
  }

  /// Batch `k` (waiting for it if it is being made), then starts on `k + 1`.
  public func batch(_ k: Int) throws -> Batch {
    var result: Result<Batch, any Error>
    if let pending, pending.index == k {
      pending.done.wait()
      result = pending.result.result!
      self.pending = nil
    } else {
      finishPending()
      result = Result { try make(k) }
    }
    if ahead && k + 1 < count { start(k + 1) }
    return try result.get()
  }

  private func start(_ k: Int) {
    let done = DispatchSemaphore(value: 0), box = ResultBox(), make = self.make
    pending = (k, done, box)
    Thread.detachNewThread {
      box.result = Result { try make(k) }
      done.signal()
    }
  }

  /// Waits for a batch being made that is no longer wanted (so no thread outlives its use).
  private func finishPending() {
    pending?.done.wait()
    pending = nil
  }

  deinit { finishPending() }
}
