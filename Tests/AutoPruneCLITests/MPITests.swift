import Foundation
import XCTest

/// `mpirun -np 2 autoprune …` against one process on the same global batch: the same weights
/// within a tolerance (sums in another order), identical masks; and a rank that dies ends the
/// job. Skipped where Open MPI's `mpirun` is not installed (scripts/install-deps.sh installs it);
/// the MPICH tests are skipped where MPICH's `mpiexec.hydra` is not.
final class MPITests: XCTestCase {
  var scratch: URL!

  override func setUpWithError() throws {
    guard Launcher.openMPI.executable != nil else { throw XCTSkip("Open MPI's mpirun not found (Debian openmpi-bin)") }
    scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cli-mpi-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  }

  override func tearDown() { if let scratch { try? FileManager.default.removeItem(at: scratch) } }

  /// The two MPI launchers the tool is tested under.
  enum Launcher {
    /// Open MPI's `mpirun` (its own name first: `mpirun` may be MPICH's where both are installed).
    case openMPI
    /// MPICH's Hydra `mpiexec`.
    case mpich

    var executable: String? {
      let names = self == .openMPI ? ["/usr/bin/mpirun.openmpi", "/usr/bin/mpirun", "/usr/local/bin/mpirun"] : ["/usr/bin/mpiexec.hydra"]
      return names.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The launcher's arguments for `ranks` processes with `environment` passed to each
    /// (`mca`: Open MPI's `--mca` pairs).
    func arguments(ranks: Int, environment: [String: String], mca: [String]) -> [String] {
      let variables = environment.sorted { $0.key < $1.key }
      var arguments: [String]
      switch self {
      case .openMPI:
        arguments = ["--allow-run-as-root", "--oversubscribe", "-np", String(ranks)]
        for pair in mca { arguments += ["--mca"] + pair.split(separator: " ").map(String.init) }
        for (name, value) in variables { arguments += ["-x", name + "=" + value] }
      case .mpich:
        arguments = ["-n", String(ranks)]
        for (name, value) in variables { arguments += ["-genv", name, value] }
      }
      return arguments
    }
  }

  private func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

  /// `autoprune ARGS` on `ranks` processes (`mca`: extra `--mca` pairs for Open MPI).
  func mpi(_ ranks: Int, _ arguments: [String], mca: [String] = [], launcher: Launcher = .openMPI, environment: [String: String] = [:]) throws -> CLI.Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try XCTUnwrap(launcher.executable, "\(launcher) is not installed"))
    process.arguments = launcher.arguments(ranks: ranks, environment: environment, mca: mca) + [CLI.executable.path] + arguments
    process.currentDirectoryURL = scratch
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CLI.Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
  }

  /// The tensors of a safetensors file (F32 only), by name.
  static func tensors(_ path: String) throws -> [String: [Float]] {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let headerLength = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
    let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any])
    var out: [String: [Float]] = [:]
    for (name, entry) in header where name != "__metadata__" {
      guard let entry = entry as? [String: Any], let offsets = entry["data_offsets"] as? [Int] else { continue }
      let start = 8 + headerLength + offsets[0], end = 8 + headerLength + offsets[1]
      out[name] = stride(from: start, to: end, by: 4).map { i in
        Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
      }
    }
    return out
  }

  /// Largest difference between two files' tensors, relative to the largest value; the masks
  /// (`*_mask`) must be equal.
  func compare(_ a: String, _ b: String, masksEqual: Bool, file: StaticString = #filePath, line: UInt = #line) throws -> Float {
    let x = try MPITests.tensors(a), y = try MPITests.tensors(b)
    XCTAssertEqual(Set(x.keys), Set(y.keys), file: file, line: line)
    var worst: Float = 0
    for (name, values) in x {
      let other = try XCTUnwrap(y[name], file: file, line: line)
      if name.hasSuffix("_mask") {
        let differing = zip(values, other).filter { $0 != $1 }.count
        if masksEqual { XCTAssertEqual(differing, 0, "\(name): \(differing) of \(values.count) entries differ", file: file, line: line) }
        continue
      }
      let scale = max(1e-6, values.map(abs).max() ?? 0)
      worst = max(worst, (zip(values, other).map { abs($0 - $1) }.max() ?? 0) / scale)
    }
    return worst
  }

  /// LeNet-5 on the bundled data, batch 100 split 50/50 over two ranks, against one process:
  /// 20 dense steps give the same weights within 0.5% of each tensor's largest value (the sums
  /// run in another order, and SGD carries the difference on); then AutoPrune with unit gates
  /// for 20 steps from the same dense weights closes the same units.
  func testTwoRanksTrainAndPruneLikeOneProcess() throws {
    let common = ["--model", "lenet5", "--data", "bundled", "--threads", "1", "--no-run-dir", "--quiet"]
    let train = ["train"] + common + ["--epochs", "1", "--lr", "0.02", "--out"]
    let one = try CLI.run(train + [path("one.safetensors")], in: scratch), two = try mpi(2, train + [path("two.safetensors")])
    XCTAssertEqual(one.status, 0, one.stderr)
    XCTAssertEqual(two.status, 0, two.stderr)
    XCTAssertLessThan(try compare(path("one.safetensors"), path("two.safetensors"), masksEqual: true), 5e-3)
    let prune = ["prune"] + common + ["--weights", path("one.safetensors"), "--granularity", "unit", "--prune-epochs", "1",
                                      "--finetune-epochs", "0", "--mu", "0.3", "--prune-lr", "0.005", "--out"]
    let p1 = try CLI.run(prune + [path("one-pruned.safetensors")], in: scratch), p2 = try mpi(2, prune + [path("two-pruned.safetensors")])
    XCTAssertEqual(p1.status, 0, p1.stderr)
    XCTAssertEqual(p2.status, 0, p2.stderr)
    XCTAssertLessThan(try compare(path("one-pruned.safetensors"), path("two-pruned.safetensors"), masksEqual: true), 5e-3)
    let masks = try MPITests.tensors(path("two-pruned.safetensors")).filter { $0.key.hasSuffix("_mask") }
    XCTAssertTrue(masks.values.contains { $0.contains(0) }, "the pruning closed something")
  }

  /// Gradients summed in small buckets started during the backward pass give exactly what one
  /// sum after the pass gives (two ranks: each sum is a + b, in any grouping). Batch 1,999 leaves
  /// a last batch of one sample, so rank 1's share is empty there and it hands all its
  /// gradients over at once: its buckets must still match rank 0's.
  func testBucketedSumsEqualOneSumAfterTheBackwardPass() throws {
    let arguments = ["train", "--model", "lenet5", "--data", "bundled", "--threads", "1", "--no-run-dir", "--quiet", "--epochs", "2",
                     "--batch-size", "1999", "--lr", "0.1", "--out"]
    let one = try mpi(2, arguments + [path("one.safetensors"), "--allreduce-bucket-mb", "0"])
    XCTAssertEqual(one.status, 0, one.stderr)
    let buckets = try mpi(2, arguments + [path("buckets.safetensors"), "--allreduce-bucket-mb", "0.01"])
    XCTAssertEqual(buckets.status, 0, buckets.stderr)
    XCTAssertEqual(try compare(path("one.safetensors"), path("buckets.safetensors"), masksEqual: true), 0)
  }

  /// Ranks with shares of different sizes augment different numbers of images; their draws come
  /// from each rank's own stream, so the shared one (shuffling) stays in step: the second
  /// epoch's order is the same on both ranks (checked by the trainer every epoch, an error
  /// otherwise).
  func testUnequalSharesKeepTheRanksShufflingInStep() throws {
    let r = try mpi(2, ["train", "--model", "lenet5", "--data", "bundled", "--threads", "1", "--no-run-dir", "--quiet", "--epochs", "2",
                        "--batch-size", "99", "--augment", "--out", path("augmented.safetensors")])
    XCTAssertEqual(r.status, 0, r.stderr)
    XCTAssertFalse(r.stderr.contains("differ between MPI ranks"), r.stderr)
  }

  /// The network path (TCP between the ranks instead of shared memory) gives the same run.
  func testTheTCPTransportTrainsTheSame() throws {
    let arguments = ["train", "--model", "lenet300", "--data", "bundled", "--threads", "1", "--no-run-dir", "--quiet", "--epochs", "1"]
    let shared = try mpi(2, arguments + ["--out", path("shm.safetensors")])
    XCTAssertEqual(shared.status, 0, shared.stderr)
    let tcp = try mpi(2, arguments + ["--out", path("tcp.safetensors")], mca: ["btl self,tcp"])
    XCTAssertEqual(tcp.status, 0, tcp.stderr)
    XCTAssertLessThan(try compare(path("shm.safetensors"), path("tcp.safetensors"), masksEqual: true), 1e-5)
  }

  /// A rank that fails ends the whole job with its message, within seconds, instead of leaving
  /// the other rank waiting in its next allreduce.
  func testAFailingRankEndsTheJob() throws {
    let start = Date()
    let r = try mpi(2, ["train", "--model", "lenet5", "--data", path("nowhere"), "--epochs", "1", "--out", path("x.safetensors")])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.stderr.contains("nowhere") && r.stderr.contains("rank"), r.stderr)
    XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.safetensors")))
  }

  /// PIDs of this job's processes of MPI rank `rank` (their environment names the rank; their
  /// command line holds `marker`).
  static func processes(rank: Int, marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
      guard let environment = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")),
        let command = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
      let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
      return variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") && String(decoding: command, as: UTF8.self).contains(marker)
    }
  }

  /// Rank 1 killed mid-run: the job ends within seconds (mpirun names the rank), and `--resume`
  /// under MPI from the last checkpoint ends with the weights an uninterrupted MPI run gives.
  func testAKilledRankEndsTheJobAndTheRunResumesUnderMPI() throws {
    let arguments = ["train", "--model", "lenet300", "--data", "bundled", "--threads", "1", "--quiet", "--epochs", "40",
                     "--checkpoint-every", "10"]
    let whole = try mpi(2, arguments + ["--run-dir", path("whole"), "--out", path("whole.safetensors")])
    XCTAssertEqual(whole.status, 0, whole.stderr)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: try XCTUnwrap(Launcher.openMPI.executable))
    process.arguments = Launcher.openMPI.arguments(ranks: 2, environment: [:], mca: []) + [CLI.executable.path]
      + arguments + ["--run-dir", path("cut"), "--out", path("cut.safetensors")]
    process.currentDirectoryURL = scratch
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    // Wait for a checkpoint past the first, then kill rank 1.
    let checkpoint = path("cut/checkpoint.safetensors")
    let deadline = Date().addingTimeInterval(60)
    var seen = 0
    var last: Date?
    while Date() < deadline, seen < 2 {
      let stamp = (try? FileManager.default.attributesOfItem(atPath: checkpoint)[.modificationDate]) as? Date
      if let stamp, stamp != last { (seen, last) = (seen + 1, stamp) }
      usleep(20_000)
    }
    let victims = MPITests.processes(rank: 1, marker: path("cut"))
    XCTAssertEqual(victims.count, 1, "rank 1 of the job")
    let killed = Date()
    for pid in victims { kill(pid, SIGKILL) }
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    XCTAssertNotEqual(process.terminationStatus, 0)
    XCTAssertLessThan(Date().timeIntervalSince(killed), 20, "the job ended within seconds of the kill")
    XCTAssertTrue(String(decoding: stderr, as: UTF8.self).contains("rank 1"), String(decoding: stderr, as: UTF8.self))
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("cut.safetensors")))
    XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint), "the last checkpoint is there to resume from")

    let resumed = try mpi(2, ["train", "--resume", path("cut")])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertEqual(try compare(path("whole.safetensors"), path("cut.safetensors"), masksEqual: true), 0, "resumed = uninterrupted")
  }

  /// Relative L2 distance between two files' tensors (BatchNorm's step counters left out).
  static func relativeDistance(_ a: String, _ b: String) throws -> Double {
    let x = try tensors(a), y = try tensors(b)
    var difference = 0.0, norm = 0.0
    for (name, values) in x where !name.contains("num_batches") {
      let other = try XCTUnwrap(y[name])
      for (p, q) in zip(values, other) {
        difference += Double(p - q) * Double(p - q)
        norm += Double(p) * Double(p)
      }
    }
    return (difference / max(norm, 1e-30)).squareRoot()
  }

  /// ResNet-20, one step on a global batch of 2,000 split over two ranks: with --sync-batchnorm
  /// the weights and running statistics equal one process's up to rounding (measured 1.3e-5
  /// relative); with per-rank statistics, the default, they do not (1.7e-3).
  func testSynchronisedBatchNormTrainsLikeOneProcess() throws {
    let arguments = ["train", "--model", "resnet20", "--data", "bundled", "--resize", "32", "--epochs", "1", "--batch-size", "2000",
                     "--lr", "0.5", "--threads", "1", "--no-run-dir", "--quiet", "--out"]
    let one = try CLI.run(arguments + [path("one.safetensors")], in: scratch)
    XCTAssertEqual(one.status, 0, one.stderr)
    let synchronised = try mpi(2, arguments + [path("sync.safetensors"), "--sync-batchnorm"])
    XCTAssertEqual(synchronised.status, 0, synchronised.stderr)
    let perRank = try mpi(2, arguments + [path("local.safetensors")])
    XCTAssertEqual(perRank.status, 0, perRank.stderr)
    let synchronisedDistance = try MPITests.relativeDistance(path("one.safetensors"), path("sync.safetensors"))
    let perRankDistance = try MPITests.relativeDistance(path("one.safetensors"), path("local.safetensors"))
    XCTAssertLessThan(synchronisedDistance, 1e-4)
    XCTAssertGreaterThan(perRankDistance, 10 * synchronisedDistance)
    // Every batch needs a sample per rank: a last batch of one is refused, not deadlocked.
    let tooSmall = try mpi(2, ["train", "--model", "resnet20", "--data", "bundled", "--resize", "32", "--epochs", "1", "--batch-size", "1999",
                               "--threads", "1", "--no-run-dir", "--quiet", "--sync-batchnorm", "--out", path("x.safetensors")])
    XCTAssertNotEqual(tooSmall.status, 0)
    XCTAssertTrue(tooSmall.stderr.contains("--sync-batchnorm needs at least one sample per rank"), tooSmall.stderr)
  }

  /// MPICH's ABI (handles as integer constants, not Open MPI's symbols): under Hydra's
  /// `mpiexec`, `info` names MPICH and two ranks train LeNet-5 to the very weights Open MPI's
  /// two ranks give (a sum of two is the same whichever library adds it).
  func testMPICHTrainsLikeOpenMPI() throws {
    guard Launcher.mpich.executable != nil else { throw XCTSkip("MPICH's mpiexec.hydra not found (Debian mpich)") }
    let info = try mpi(2, ["info"], launcher: .mpich)
    XCTAssertEqual(info.status, 0, info.stderr)
    XCTAssertTrue(info.stdout.contains("MPICH") && info.stdout.contains("2"), info.stdout)
    let arguments = ["train", "--model", "lenet5", "--data", "bundled", "--threads", "1", "--no-run-dir", "--quiet", "--epochs", "1",
                     "--lr", "0.02", "--out"]
    let openMPI = try mpi(2, arguments + [path("openmpi.safetensors")])
    XCTAssertEqual(openMPI.status, 0, openMPI.stderr)
    let mpich = try mpi(2, arguments + [path("mpich.safetensors")], launcher: .mpich)
    XCTAssertEqual(mpich.status, 0, mpich.stderr)
    XCTAssertEqual(try compare(path("openmpi.safetensors"), path("mpich.safetensors"), masksEqual: true), 0)
  }

  /// Under MPICH too, a failing rank ends the job with its message, within seconds.
  func testAFailingRankEndsAnMPICHJob() throws {
    guard Launcher.mpich.executable != nil else { throw XCTSkip("MPICH's mpiexec.hydra not found (Debian mpich)") }
    let start = Date()
    let r = try mpi(2, ["train", "--model", "lenet5", "--data", path("nowhere"), "--epochs", "1", "--out", path("x.safetensors")], launcher: .mpich)
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.stderr.contains("nowhere") && r.stderr.contains("rank"), r.stderr)
    XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.safetensors")))
  }

  /// A library that is not the launcher's sees a job of one; training alone on every rank would
  /// silently give N unrelated models, so it is refused with a message naming the fix.
  func testAnotherMPIsLibraryIsRefused() throws {
    guard Launcher.mpich.executable != nil else { throw XCTSkip("MPICH's mpiexec.hydra not found (Debian mpich)") }
    let r = try mpi(2, ["train", "--model", "lenet300", "--data", "bundled", "--epochs", "1", "--no-run-dir", "--out", path("x.safetensors")],
                    environment: ["AUTOPRUNE_MPI_LIBRARY": "libmpich.so.12"])
    XCTAssertNotEqual(r.status, 0)
    XCTAssertTrue(r.stderr.contains("sees a job of one") && r.stderr.contains("AUTOPRUNE_MPI_LIBRARY"), r.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.safetensors")))
  }
}
