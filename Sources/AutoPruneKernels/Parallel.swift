import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A raw pointer that may cross into `DispatchQueue.concurrentPerform` closures.
///
/// Swift 6 rejects capturing raw pointers in concurrent closures; the kernels guarantee that
/// concurrent tasks write disjoint ranges, so this one wrapper carries that promise.
public struct SharedPointer<Element>: @unchecked Sendable {
  public let base: UnsafeMutablePointer<Element>
  public init(_ base: UnsafeMutablePointer<Element>) { self.base = base }
  @inline(__always) public subscript(i: Int) -> Element {
    get { base[i] }
    nonmutating set { base[i] = newValue }
  }
  @inline(__always) public static func + (p: SharedPointer, offset: Int) -> UnsafeMutablePointer<Element> {
    p.base + offset
  }
}

/// Thread settings and a tiny deterministic parallel-for shared by every kernel.
public enum Parallel {
  nonisolated(unsafe) private static var configuredThreads: Int = Parallel.coreCount

  /// Number of logical cores the process may use.
  public static var coreCount: Int {
    #if canImport(Glibc)
      return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    #else
      return max(1, ProcessInfo.processInfo.activeProcessorCount)
    #endif
  }

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

  private static let workerKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
  }()

  /// Runs `body(chunk)` for `chunk in 0..<chunks`, spread over `threads` workers.
  ///
  /// Work is split into fixed chunks, so which chunk computes which output never depends on
  /// timing: results are identical from run to run for the same thread count. Called from
  /// inside another `forEach` body it runs serially.
  public static func forEach(_ chunks: Int, _ body: (Int) -> Void) {
    if chunks <= 0 { return }
    if chunks == 1 || available == 1 {
      for c in 0..<chunks { body(c) }
      return
    }
    let key = workerKey
    withoutActuallyEscaping(body) { escapable in
      let box = UncheckedBox(escapable)
      DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let marker = UnsafeMutableRawPointer(bitPattern: 1)
        pthread_setspecific(key, marker)
        box.value(c)
        pthread_setspecific(key, nil)
      }
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

/// Carries a non-Sendable closure into `concurrentPerform`; callers ensure disjoint writes.
struct UncheckedBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}
