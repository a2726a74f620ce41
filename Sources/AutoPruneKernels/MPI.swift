#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Open MPI found at run time with `dlopen` (like OpenBLAS and libturbojpeg), so the tool builds
/// and runs without MPI, and a process started by `mpirun` or `srun` joins its job.
///
/// Why run-time loading rather than a C shim or a system-library module: either of those would
/// make `libmpi` (and its headers) a build dependency of every user, for a feature most never
/// use; and MPI's handles are link-time symbols in Open MPI (`MPI_COMM_WORLD` is
/// `&ompi_mpi_comm_world`), which `dlsym` hands over as they are. MPICH's handles are integer
/// constants with other function types: not supported (refused with a message).
public final class MPI: @unchecked Sendable {
  private typealias Handle = UnsafeMutableRawPointer
  private typealias InitThread = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?, Int32, UnsafeMutablePointer<Int32>?) -> Int32
  private typealias CommQuery = @convention(c) (Handle, UnsafeMutablePointer<Int32>?) -> Int32
  private typealias Allreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle) -> Int32
  private typealias Bcast = @convention(c) (UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle) -> Int32
  private typealias Abort = @convention(c) (Handle, Int32) -> Int32
  private typealias Finalize = @convention(c) () -> Int32
  private typealias LibraryVersion = @convention(c) (UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int32>?) -> Int32
  private typealias Barrier = @convention(c) (Handle) -> Int32
  // MPI_Request is a pointer in Open MPI: held in 8 bytes the library writes and reads back.
  private typealias Iallreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle, UnsafeMutablePointer<UInt64>?) -> Int32
  private typealias Test = @convention(c) (UnsafeMutablePointer<UInt64>?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32
  private typealias Wait = @convention(c) (UnsafeMutablePointer<UInt64>?, UnsafeMutableRawPointer?) -> Int32

  /// Environment variables a launcher sets for each process: Open MPI's `mpirun`, PMIx (Open MPI 4+,
  /// Slurm with PMIx) and Slurm's `srun`.
  static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "SLURM_NTASKS"]

  static let candidates = ["libmpi.so.40", "libmpi.so", "/usr/lib/x86_64-linux-gnu/libmpi.so.40", "libmpi.dylib"]

  /// Why the job could not start under MPI when a launcher asked for it (nil when it did, or
  /// when no launcher did).
  public nonisolated(unsafe) static var problem: String?

  /// The job this process belongs to, or nil when it was not started by a launcher (a plain
  /// run, the default) or MPI could not be loaded (`problem` says why).
  public static let world: MPI? = {
    guard launcherVariables.contains(where: { getenv($0) != nil }) else { return nil }
    for path in candidates {
      guard let library = dlopen(path, RTLD_NOW | RTLD_GLOBAL) else { continue }  // GLOBAL: Open MPI's plugins need its symbols
      if let mpi = MPI(library: library, path: path) { return mpi }
    }
    if problem == nil { problem = "started by an MPI launcher, but no Open MPI library (libmpi.so.40) was found: install Debian's openmpi-bin" }
    return nil
  }()

  /// Whether this process writes files: true unless it is a rank other than 0 of an MPI job
  /// (one writer: rank 0 alone writes logs, checkpoints and models; the others compute the same).
  public static var writes: Bool { (world?.rank ?? 0) == 0 }

  /// Where the library was found.
  public let path: String
  /// This process's rank, 0 ..< `size`.
  public let rank: Int
  /// Processes in the job.
  public let size: Int
  /// `MPI_Get_library_version`'s first line.
  public let libraryVersion: String

  /// Seconds spent in collective calls (allreduce, broadcast; for a started sum, the time in its
  /// start, polls and wait: what the computing did not hide) so far, and their number: what the
  /// communication costs next to the computing.
  public private(set) var collectiveSeconds = 0.0
  /// See `collectiveSeconds`.
  public private(set) var collectiveCalls = 0

  private let communicator: Handle, float: Handle, double: Handle, sum: Handle
  private let allreduce: Allreduce, bcast: Bcast, abortFunction: Abort, finalizeFunction: Finalize, barrier: Barrier
  private let iallreduce: Iallreduce, test: Test, wait: Wait

  private init?(library: UnsafeMutableRawPointer, path: String) {
    func symbol<T>(_ name: String, _ type: T.Type) -> T? { dlsym(library, name).map { unsafeBitCast($0, to: type) } }
    guard let comm = dlsym(library, "ompi_mpi_comm_world") else {
      MPI.problem = "\(path) is not Open MPI (no ompi_mpi_comm_world); only Open MPI is supported"
      return nil
    }
    guard let float = dlsym(library, "ompi_mpi_float"), let double = dlsym(library, "ompi_mpi_double"),
      let sum = dlsym(library, "ompi_mpi_op_sum"), let initThread = symbol("MPI_Init_thread", InitThread.self),
      let rankOf = symbol("MPI_Comm_rank", CommQuery.self), let sizeOf = symbol("MPI_Comm_size", CommQuery.self),
      let allreduce = symbol("MPI_Allreduce", Allreduce.self), let bcast = symbol("MPI_Bcast", Bcast.self),
      let abort = symbol("MPI_Abort", Abort.self), let finalize = symbol("MPI_Finalize", Finalize.self),
      let version = symbol("MPI_Get_library_version", LibraryVersion.self), let barrier = symbol("MPI_Barrier", Barrier.self),
      let iallreduce = symbol("MPI_Iallreduce", Iallreduce.self), let test = symbol("MPI_Test", Test.self),
      let wait = symbol("MPI_Wait", Wait.self)
    else {
      MPI.problem = "\(path) lacks MPI functions the tool calls"
      return nil
    }
    // Only the main thread calls MPI (the kernels' worker threads never do): FUNNELED.
    var provided: Int32 = 0
    guard initThread(nil, nil, 1, &provided) == 0 else {
      MPI.problem = "MPI_Init_thread failed"
      return nil
    }
    var rank: Int32 = 0, size: Int32 = 0
    _ = rankOf(comm, &rank)
    _ = sizeOf(comm, &size)
    var text = [CChar](repeating: 0, count: 512)
    var length: Int32 = 0
    _ = version(&text, &length)
    self.path = path
    self.rank = Int(rank)
    self.size = Int(size)
    libraryVersion = String(cString: text).split(separator: "\n").first.map { String($0.drop { $0 == " " }) } ?? "?"
    (communicator, self.float, self.double, self.sum) = (comm, float, double, sum)
    (self.allreduce, self.bcast, abortFunction, finalizeFunction, self.barrier) = (allreduce, bcast, abort, finalize, barrier)
    (self.iallreduce, self.test, self.wait) = (iallreduce, test, wait)
  }

  /// Runs `body` (a collective call, or part of one when not `counting`), adding its time to
  /// `collectiveSeconds`.
  private func timed(counting: Bool = true, _ body: () -> Void) {
    var start = timespec(), end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    body()
    clock_gettime(CLOCK_MONOTONIC, &end)
    collectiveSeconds += Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
    if counting { collectiveCalls += 1 }
  }

  /// Sums `values` over every rank, in place (the same result on each).
  public func sum(_ values: UnsafeMutablePointer<Float>, count: Int) {
    timed { sumChunks(values, count: count) }
  }

  private func sumChunks(_ values: UnsafeMutablePointer<Float>, count: Int) {
    var done = 0
    while done < count {  // MPI counts are Int32
      let n = min(count - done, Int(Int32.max))
      precondition(allreduce(UnsafeRawPointer(bitPattern: 1), values + done, Int32(n), float, sum, communicator) == 0, "MPI_Allreduce failed")
      done += n
    }
  }

  /// A sum over the ranks started by `startSum` and not yet waited for.
  public struct PendingSum {
    fileprivate var requests: [UInt64]
    /// True once the sum has arrived (seen by `poll` or `wait`).
    public fileprivate(set) var isComplete = false
  }

  /// Starts summing `values` over every rank, in place, and returns at once: the sum runs while
  /// the caller computes (driven by `poll`), and `values` must stay alive and untouched until
  /// `wait` returns. Every rank must start the same sums in the same order.
  public func startSum(_ values: UnsafeMutablePointer<Float>, count: Int) -> PendingSum {
    var pending = PendingSum(requests: [])
    timed(counting: true) {
      var done = 0
      while done < count {
        let n = min(count - done, Int(Int32.max))
        var request: UInt64 = 0
        precondition(iallreduce(UnsafeRawPointer(bitPattern: 1), values + done, Int32(n), float, sum, communicator, &request) == 0, "MPI_Iallreduce failed")
        pending.requests.append(request)
        done += n
      }
    }
    return pending
  }

  /// Lets MPI move `pending` on (Open MPI progresses nonblocking collectives only inside MPI
  /// calls) and says whether it has arrived.
  @discardableResult
  public func poll(_ pending: inout PendingSum) -> Bool {
    guard !pending.isComplete else { return true }
    timed(counting: false) {
      var all = true
      for i in pending.requests.indices {
        var flag: Int32 = 0
        precondition(test(&pending.requests[i], &flag, nil) == 0, "MPI_Test failed")  // MPI_STATUS_IGNORE is NULL in Open MPI
        all = all && flag != 0
      }
      pending.isComplete = all
    }
    return pending.isComplete
  }

  /// Returns when `pending` has arrived.
  public func wait(_ pending: inout PendingSum) {
    guard !pending.isComplete else { return }
    timed(counting: false) {
      for i in pending.requests.indices { precondition(wait(&pending.requests[i], nil) == 0, "MPI_Wait failed") }
    }
    pending.isComplete = true
  }

  /// Sums `values` over every rank, in place.
  public func sum(_ values: inout [Double]) {
    let n = values.count
    timed {
      values.withUnsafeMutableBufferPointer {
        precondition(allreduce(UnsafeRawPointer(bitPattern: 1), $0.baseAddress, Int32(n), double, sum, communicator) == 0, "MPI_Allreduce failed")
      }
    }
  }

  /// Every rank gets rank `root`'s `values`.
  public func broadcast(_ values: UnsafeMutablePointer<Float>, count: Int, root: Int = 0) {
    timed {
      var done = 0
      while done < count {
        let n = min(count - done, Int(Int32.max))
        precondition(bcast(values + done, Int32(n), float, Int32(root), communicator) == 0, "MPI_Bcast failed")
        done += n
      }
    }
  }

  /// Waits for every rank.
  public func synchronize() { _ = barrier(communicator) }

  /// Ends the whole job (every rank) with `code`: what a failing rank does, so the others do
  /// not wait for it forever.
  public func abort(code: Int32) -> Never {
    _ = abortFunction(communicator, code)
    exit(code)
  }

  /// Leaves the job cleanly (call once, at the end of a successful run).
  public func finalize() { _ = finalizeFunction() }
}
