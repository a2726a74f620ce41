#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// MPI found at run time with `dlopen` (like OpenBLAS and libturbojpeg), so the tool builds and
/// runs without MPI, and a process started by `mpirun`, `mpiexec` or `srun` joins its job.
///
/// Why run-time loading rather than a C shim or a system-library module: either of those would
/// make `libmpi` (and its headers) a build dependency of every user, for a feature most never
/// use. Two ABIs cover the MPIs in use: Open MPI's, whose handles are link-time symbols
/// (`MPI_COMM_WORLD` is `&ompi_mpi_comm_world`, found with `dlsym`), and MPICH's (shared by
/// Intel MPI, MVAPICH and Cray MPICH), whose handles are fixed integer constants
/// (`MPI_COMM_WORLD` is 0x44000000). Both kinds are passed in one integer register, so the
/// function types below take a handle as `UInt` for either.
public final class MPI: @unchecked Sendable {
  private typealias Handle = UInt
  private typealias InitThread = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?, Int32, UnsafeMutablePointer<Int32>?) -> Int32
  private typealias CommQuery = @convention(c) (Handle, UnsafeMutablePointer<Int32>?) -> Int32
  private typealias Allreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle) -> Int32
  private typealias Bcast = @convention(c) (UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle) -> Int32
  private typealias Abort = @convention(c) (Handle, Int32) -> Int32
  private typealias Finalize = @convention(c) () -> Int32
  private typealias LibraryVersion = @convention(c) (UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int32>?) -> Int32
  private typealias Barrier = @convention(c) (Handle) -> Int32
  // MPI_Request is a pointer in Open MPI and an int in MPICH: held in 8 bytes the library
  // writes and reads back.
  private typealias Iallreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle, UnsafeMutablePointer<UInt64>?) -> Int32
  private typealias Test = @convention(c) (UnsafeMutablePointer<UInt64>?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32
  private typealias Wait = @convention(c) (UnsafeMutablePointer<UInt64>?, UnsafeMutableRawPointer?) -> Int32

  /// Environment variables a launcher sets for each process: Open MPI's `mpirun`, PMIx (Open MPI 4+,
  /// Slurm with PMIx), PMI (MPICH's Hydra `mpiexec`, Intel MPI, Slurm's PMI2) and Slurm's `srun`.
  static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "SLURM_NTASKS"]

  static let openMPILibraries = ["libmpi.so.40", "/usr/lib/x86_64-linux-gnu/libmpi.so.40", "libmpi.dylib"]
  static let mpichLibraries = ["libmpich.so.12", "libmpi.so.12", "/usr/lib/x86_64-linux-gnu/libmpich.so.12"]

  /// The libraries to try, the launcher's own kind first: Open MPI's `mpirun` sets `OMPI_*`,
  /// MPICH's Hydra (and Intel MPI's) `PMI_*` without it. `AUTOPRUNE_MPI_LIBRARY` names one.
  static var candidates: [String] {
    if let chosen = getenv("AUTOPRUNE_MPI_LIBRARY").map({ String(cString: $0) }), !chosen.isEmpty { return [chosen] }
    let pmi = getenv("OMPI_COMM_WORLD_SIZE") == nil && (getenv("PMI_SIZE") != nil || getenv("PMI_RANK") != nil)
    return pmi ? mpichLibraries + openMPILibraries : openMPILibraries + mpichLibraries
  }

  /// The job size the launcher announced, when it says (to catch a library that is not the
  /// launcher's: it would see a job of one and train alone).
  static var announcedSize: Int? {
    for name in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"] {
      if let value = getenv(name).flatMap({ Int(String(cString: $0)) }) { return value }
    }
    return nil
  }

  /// Why the job could not start under MPI when a launcher asked for it (nil when it did, or
  /// when no launcher did).
  public nonisolated(unsafe) static var problem: String?

  /// The job this process belongs to, or nil when it was not started by a launcher (a plain
  /// run, the default) or MPI could not be loaded (`problem` says why).
  public static let world: MPI? = {
    guard launcherVariables.contains(where: { getenv($0) != nil }) else { return nil }
    // The first library that loads is the one: MPI can be initialised once per process.
    for path in candidates {
      guard let library = dlopen(path, RTLD_NOW | RTLD_GLOBAL) else { continue }  // GLOBAL: Open MPI's plugins need its symbols
      return MPI(library: library, path: path)
    }
    problem = "started by an MPI launcher, but no MPI library was found (tried \(candidates.joined(separator: ", "))): install Debian's openmpi-bin or mpich, or set AUTOPRUNE_MPI_LIBRARY"
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
  /// `MPI_IN_PLACE` and `MPI_STATUS_IGNORE`, which differ between the two ABIs.
  private let inPlace: UnsafeRawPointer?, statusIgnore: UnsafeMutableRawPointer?
  private let allreduce: Allreduce, bcast: Bcast, abortFunction: Abort, finalizeFunction: Finalize, barrier: Barrier
  private let iallreduce: Iallreduce, test: Test, wait: Wait

  private init?(library: UnsafeMutableRawPointer, path: String) {
    func symbol<T>(_ name: String, _ type: T.Type) -> T? { dlsym(library, name).map { unsafeBitCast($0, to: type) } }
    func address(_ name: String) -> Handle? { dlsym(library, name).map { UInt(bitPattern: $0) } }
    guard let initThread = symbol("MPI_Init_thread", InitThread.self),
      let rankOf = symbol("MPI_Comm_rank", CommQuery.self), let sizeOf = symbol("MPI_Comm_size", CommQuery.self),
      let allreduce = symbol("MPI_Allreduce", Allreduce.self), let bcast = symbol("MPI_Bcast", Bcast.self),
      let abort = symbol("MPI_Abort", Abort.self), let finalize = symbol("MPI_Finalize", Finalize.self),
      let version = symbol("MPI_Get_library_version", LibraryVersion.self), let barrier = symbol("MPI_Barrier", Barrier.self),
      let iallreduce = symbol("MPI_Iallreduce", Iallreduce.self), let test = symbol("MPI_Test", Test.self),
      let wait = symbol("MPI_Wait", Wait.self)
    else {
      MPI.problem = "\(path) lacks MPI functions the tool calls (MPI 3 or later is needed)"
      return nil
    }
    // MPI_Get_library_version may be called before MPI_Init.
    var text = [CChar](repeating: 0, count: 8192)  // MPI_MAX_LIBRARY_VERSION_STRING is 8,192 in MPICH
    var length: Int32 = 0
    _ = version(&text, &length)
    let description = String(cString: text)
    if let comm = address("ompi_mpi_comm_world") {
      guard let float = address("ompi_mpi_float"), let double = address("ompi_mpi_double"), let sum = address("ompi_mpi_op_sum") else {
        MPI.problem = "\(path) looks like Open MPI but lacks its predefined handles"
        return nil
      }
      (communicator, self.float, self.double, self.sum) = (comm, float, double, sum)
      (inPlace, statusIgnore) = (UnsafeRawPointer(bitPattern: 1), nil)
    } else if ["MPICH", "Intel", "MVAPICH", "CRAY"].contains(where: { description.uppercased().contains($0.uppercased()) }) {
      // MPICH's ABI (mpi.h of MPICH 3.x/4.x, kept by its ABI compatibility initiative).
      (communicator, float, double, sum) = (0x4400_0000, 0x4C00_040A, 0x4C00_080B, 0x5800_0003)
      (inPlace, statusIgnore) = (UnsafeRawPointer(bitPattern: UInt.max), UnsafeMutableRawPointer(bitPattern: 1))
    } else {
      MPI.problem = "\(path) is neither Open MPI nor of MPICH's ABI (\(description.prefix(60))); set AUTOPRUNE_MPI_LIBRARY to one that is"
      return nil
    }
    // Only the main thread calls MPI (the kernels' worker threads never do): FUNNELED.
    var provided: Int32 = 0
    guard initThread(nil, nil, 1, &provided) == 0 else {
      MPI.problem = "MPI_Init_thread failed (\(path))"
      return nil
    }
    var rank: Int32 = 0, size: Int32 = 0
    _ = rankOf(communicator, &rank)
    _ = sizeOf(communicator, &size)
    self.path = path
    self.rank = Int(rank)
    self.size = Int(size)
    // The first line, its runs of spaces and tabs made one space ("MPICH Version:\t4.0.2").
    libraryVersion = description.split(separator: "\n").first.map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") } ?? "?"
    (self.allreduce, self.bcast, abortFunction, finalizeFunction, self.barrier) = (allreduce, bcast, abort, finalize, barrier)
    (self.iallreduce, self.test, self.wait) = (iallreduce, test, wait)
    if let announced = MPI.announcedSize, announced > 1, size == 1 {
      MPI.problem = "the launcher started \(announced) processes, but \(path) (\(libraryVersion)) sees a job of one: it is not the launcher's MPI (launch with the mpirun of the same MPI, or set AUTOPRUNE_MPI_LIBRARY)"
      _ = finalize()
      return nil
    }
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
      precondition(allreduce(inPlace, values + done, Int32(n), float, sum, communicator) == 0, "MPI_Allreduce failed")
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
        precondition(iallreduce(inPlace, values + done, Int32(n), float, sum, communicator, &request) == 0, "MPI_Iallreduce failed")
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
        precondition(test(&pending.requests[i], &flag, statusIgnore) == 0, "MPI_Test failed")
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
      for i in pending.requests.indices { precondition(wait(&pending.requests[i], statusIgnore) == 0, "MPI_Wait failed") }
    }
    pending.isComplete = true
  }

  /// Sums `values` over every rank, in place.
  public func sum(_ values: inout [Double]) {
    let n = values.count
    timed {
      values.withUnsafeMutableBufferPointer {
        precondition(allreduce(inPlace, $0.baseAddress, Int32(n), double, sum, communicator) == 0, "MPI_Allreduce failed")
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
