import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
  import Foundation  // ProcessInfo, for the core count where sched_getaffinity does not exist
#endif

/// A raw pointer that may cross into the closures `Parallel.forEach` runs on several threads.
///
/// Swift 6 rejects capturing raw pointers in concurrent closures; the kernels guarantee that
/// concurrent tasks write disjoint ranges, so this one wrapper carries that promise.
public struct SharedPointer<Element>: @unchecked Sendable {
  /// The wrapped pointer; the caller keeps the memory alive while the parallel work runs.
  public let base: UnsafeMutablePointer<Element>
  /// Wraps `base`, promising that concurrent users write disjoint elements.
  public init(_ base: UnsafeMutablePointer<Element>) { self.base = base }
  /// Element `i` from `base`, unchecked like a raw pointer.
  @inline(__always) public subscript(i: Int) -> Element {
    get { base[i] }
    nonmutating set { base[i] = newValue }
  }
  /// A plain pointer `offset` elements past `base`, for kernel code that takes raw pointers.
  @inline(__always) public static func + (p: SharedPointer, offset: Int) -> UnsafeMutablePointer<Element> {
    p.base + offset
  }
}

/// Thread settings and a tiny deterministic parallel-for shared by every kernel.
public enum Parallel {
  nonisolated(unsafe) private static var configuredThreads: Int = Parallel.coreCount

  /// Number of logical cores the process may use (read once: glibc's `sysconf` reads a file
  /// under /sys on every call, ~12 µs, which the parallel-for was paying per call).
  public static let coreCount: Int = {
    #if canImport(Glibc)
      return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    #else
      return max(1, ProcessInfo.processInfo.activeProcessorCount)
    #endif
  }()

  /// Threads used by kernels (default: every core). Set once at start-up, before any work.
  public static var threads: Int {
    get { configuredThreads }
    set { configuredThreads = max(1, newValue) }
  }

  /// Threads a kernel should plan for here: `threads`, or 1 inside a parallel region (a
  /// kernel called from a worker runs serially, so work is never split twice).
  public static var available: Int { isWorker ? 1 : threads }

  /// True on a thread currently running a `forEach` body.
  public static var isWorker: Bool { pthread_getspecific(workerKey) != nil }

  /// Marks (or unmarks) this thread as running a `forEach` body, so kernels it calls run serially.
  static func markWorker(_ on: Bool) {
    pthread_setspecific(workerKey, on ? UnsafeMutableRawPointer(bitPattern: 1) : nil)
  }

  nonisolated(unsafe) private static var pools: [Int: WorkerPool] = [:]
  private static let poolsLock = Mutex(())

  /// The pool for `threads` (one thread per core at most: spinning workers beyond the cores
  /// would take the cores from the threads doing the work). Pools are kept once made.
  private static func pool(threads: Int) -> WorkerPool {
    let workers = min(threads, coreCount) - 1
    return poolsLock.withLock { _ in
      if let pool = pools[workers] { return pool }
      let pool = WorkerPool(workers: workers)
      pools[workers] = pool
      return pool
    }
  }

  private static let workerKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
  }()

  /// Runs `body(chunk)` for `chunk in 0..<chunks`, spread over `threads` workers.
  ///
  /// Work is split into fixed chunks, so which chunk computes which output never depends on
  /// timing: results are identical from run to run for the same thread count. Called from
  /// inside another `forEach` body (or while another thread has the workers) it runs serially.
  public static func forEach(_ chunks: Int, _ body: (Int) -> Void) {
    if chunks <= 0 { return }
    if chunks == 1 || available == 1 || coreCount == 1 || !pool(threads: threads).run(chunks: chunks, body) {
      for c in 0..<chunks { body(c) }
    }
  }

  /// The `part`-th of `parts` contiguous, near-equal slices of `0..<count`.
  @inline(__always)
  public static func share(of count: Int, part: Int, parts: Int) -> Range<Int> {
    (count * part / parts)..<(count * (part + 1) / parts)
  }

  /// Splits `0..<count` into at most `threads` contiguous ranges and runs them in parallel.
  /// Below `minPerThread` items per range the work stays on one thread (spawning costs more).
  public static func forRanges(_ count: Int, minPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
    let parts = max(1, min(available, count / max(1, minPerThread)))
    if parts == 1 {
      if count > 0 { body(0..<count) }
      return
    }
    forEach(parts) { p in
      let lo = count * p / parts
      let hi = count * (p + 1) / parts
      if hi > lo { body(lo..<hi) }
    }
  }
}
