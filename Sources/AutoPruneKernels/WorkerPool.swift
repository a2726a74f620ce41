import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The threads behind `Parallel.forEach`: `threads − 1` workers that spin for a short while after
/// each job before they sleep, the calling thread taking chunks too.
///
/// Why not `DispatchQueue.concurrentPerform`: measured on the 2-core machines, a parked Dispatch
/// worker takes ~100 µs to wake, so a product shorter than that ran entirely on the caller (a
/// 256×213×192 GEMM split in two took as long as unsplit). Work arrives in bursts (the layers of
/// one forward pass, the steps of an epoch), so a worker that keeps polling for `spinLimit` after
/// its last chunk is there for the next one, and a pool idle for longer costs no CPU.
///
/// Protocol: a job is published through `current` (an unretained pointer) and its serial through
/// `published`, which idle workers poll and sleep on; a worker announces
/// itself in `active` *before* reading `current`, and the caller clears `current` *before* waiting
/// for `active` to drop to zero, so no worker can still be reading a job the caller has released
/// (both sides use sequentially consistent order: each sees the other's store). Chunks are handed
/// out by a counter, so which thread runs a chunk varies, but what a chunk computes does not.
final class WorkerPool: @unchecked Sendable {
  /// How long a worker keeps polling after its last job before it sleeps.
  static let spinLimit: UInt64 = 200_000  // ns

  private final class Job {
    let body: (Int) -> Void
    let chunks: Int
    let serial: Int
    let next = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    init(body: @escaping (Int) -> Void, chunks: Int, serial: Int) {
      self.body = body
      self.chunks = chunks
      self.serial = serial
    }

    /// Takes and runs chunks until none are left.
    func work() {
      while true {
        let chunk = next.add(1, ordering: .relaxed).oldValue
        if chunk >= chunks { return }
        body(chunk)
        done.add(1, ordering: .releasing)
      }
    }
  }

  let workers: Int
  private let current = Atomic<UInt>(0)
  /// Serial of the last job published; workers poll this (a plain read) and sleep until it changes.
  private let published = Atomic<Int>(0)
  private let active = Atomic<Int>(0)
  private let sleeping = Atomic<Int>(0)
  private var serial = 0
  private var submitLock = pthread_mutex_t()
  private var sleepLock = pthread_mutex_t()
  private var wake = pthread_cond_t()

  init(workers: Int) {
    self.workers = workers
    pthread_mutex_init(&submitLock, nil)
    pthread_mutex_init(&sleepLock, nil)
    pthread_cond_init(&wake, nil)
    for _ in 0..<workers {
      let thread = WorkerThread(pool: self)
      var attributes = pthread_attr_t()
      pthread_attr_init(&attributes)
      pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
      #if canImport(Glibc)
        var handle = pthread_t()
      #else
        var handle: pthread_t?
      #endif
      let context = Unmanaged.passRetained(thread).toOpaque()
      let status = pthread_create(&handle, &attributes, { raw in
        let thread = Unmanaged<WorkerThread>.fromOpaque(raw!).takeRetainedValue()
        thread.pool.workerLoop()
        return nil
      }, context)
      precondition(status == 0, "cannot start a worker thread (pthread_create: \(status))")
      pthread_attr_destroy(&attributes)
    }
  }

  private final class WorkerThread {
    let pool: WorkerPool
    init(pool: WorkerPool) { self.pool = pool }
  }

  /// Runs `body(chunk)` for every chunk on the caller and the workers; returns when all are
  /// done. False (nothing run) when another thread is using the pool: the caller then runs the
  /// chunks itself.
  func run(chunks: Int, _ body: (Int) -> Void) -> Bool {
    guard pthread_mutex_trylock(&submitLock) == 0 else { return false }
    defer { pthread_mutex_unlock(&submitLock) }
    withoutActuallyEscaping(body) { escapable in
      serial &+= 1
      let job = Job(body: escapable, chunks: chunks, serial: serial)
      let pointer = UInt(bitPattern: Unmanaged.passUnretained(job).toOpaque())
      current.store(pointer, ordering: .sequentiallyConsistent)
      published.store(serial, ordering: .sequentiallyConsistent)
      if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
        pthread_mutex_lock(&sleepLock)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&sleepLock)
      }
      Parallel.markWorker(true)
      job.work()
      Parallel.markWorker(false)
      WorkerPool.wait(until: { job.done.load(ordering: .acquiring) >= chunks })
      current.store(0, ordering: .sequentiallyConsistent)
      WorkerPool.wait(until: { active.load(ordering: .sequentiallyConsistent) == 0 })
      withExtendedLifetime(job) {}
    }
    return true
  }

  private func workerLoop() {
    Parallel.markWorker(true)
    var lastSerial = 0
    var idleSince = DispatchTime.now().uptimeNanoseconds
    var polls = 0
    while true {
      let serialNow = published.load(ordering: .acquiring)
      if serialNow != lastSerial {
        // A job was published since the last look: join it if it is still running. Even when
        // the caller has finished it alone, a burst has begun, so keep polling from here on.
        active.add(1, ordering: .sequentiallyConsistent)
        let pointer = current.load(ordering: .sequentiallyConsistent)
        lastSerial = serialNow
        if pointer != 0 {
          let job = Unmanaged<Job>.fromOpaque(UnsafeRawPointer(bitPattern: pointer)!).takeUnretainedValue()
          lastSerial = max(serialNow, job.serial)
          job.work()
        }
        active.subtract(1, ordering: .sequentiallyConsistent)
        idleSince = DispatchTime.now().uptimeNanoseconds
        continue
      }
      polls &+= 1
      // Reading the clock every poll would cost more than the poll.
      if polls & 255 == 0, DispatchTime.now().uptimeNanoseconds - idleSince > WorkerPool.spinLimit {
        sleep(after: lastSerial)
        idleSince = DispatchTime.now().uptimeNanoseconds
      }
    }
  }

  /// Polls `condition` until it holds, yielding the core after a while: when the machine is
  /// oversubscribed the thread being waited for may need this core to finish.
  private static func wait(until condition: () -> Bool) {
    var polls = 0
    while !condition() {
      polls &+= 1
      if polls > 4096 { sched_yield() }
    }
  }

  /// Sleeps until a job after `serial` is published (whether or not it is still running).
  private func sleep(after serial: Int) {
    pthread_mutex_lock(&sleepLock)
    sleeping.add(1, ordering: .sequentiallyConsistent)
    while published.load(ordering: .sequentiallyConsistent) == serial {
      pthread_cond_wait(&wake, &sleepLock)
    }
    sleeping.subtract(1, ordering: .sequentiallyConsistent)
    pthread_mutex_unlock(&sleepLock)
  }
}
