import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

struct Info: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Version, GEMM backend, threads and where data was found.")

  @OptionGroup var runOptions: RunOptions

  /// How the Swift code was compiled. The vector kernels are chosen at run time whatever it
  /// says (`kernels`).
  static var buildTarget: String {
    #if AUTOPRUNE_NATIVE
      return "native (-target-cpu native)"
    #else
      return "generic"
    #endif
  }

  /// The kernel set in use and what else the CPU runs.
  static var kernels: String {
    "\(InstructionSet.active) (this CPU runs \(InstructionSet.supported.map(\.description).joined(separator: ", ")))"
  }

  /// The GEMM backend, with OpenBLAS's library and core type when it is the one.
  static var gemmBackend: String {
    guard GEMM.backend == .blas else { return GEMM.backend.rawValue }
    return "blas (\(GEMM.blasLibrary ?? "?"), core \(GEMM.blasCore ?? "unknown"))"
  }

  func run() throws {
    runOptions.apply()
    let system = MNISTFormat.isPresent(in: BundledData.systemFashionMNIST) ? BundledData.systemFashionMNIST : nil
    let rows: [(String, String)] = [
      ("version", AutoPruneVersion.string),
      ("CPU", CPUDescription.summary),
      ("vector kernels", Info.kernels),
      ("build target", Info.buildTarget),
      ("GEMM backend", Info.gemmBackend),
      ("GEMM available", GEMM.availableBackends.map(\.rawValue).joined(separator: ", ")),
      ("threads", "\(Parallel.threads) of \(Parallel.coreCount) cores"),
      ("full Fashion-MNIST", system ?? "not found (apt-get install dataset-fashion-mnist)"),
      ("MPI", MPI.world.map { "rank \($0.rank) of \($0.size): \($0.libraryVersion) (\($0.path))" } ?? MPI.problem ?? "one process (not started by mpirun or srun)"),
      ("JPEG decoder", TurboJPEG.shared.map { "libturbojpeg (\($0.path))" } ?? "not found: JPEG image folders need libturbojpeg0 (PNG works)"),
      ("bundled subset", BundledData.directory ?? "not found beside the executable"),
    ]
    let width = rows.map(\.0.count).max()!
    for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
    if runOptions.json {
      Output.json([
        "command": "info", "version": AutoPruneVersion.string, "gemm": GEMM.backend.rawValue,
        "threads": Parallel.threads, "build_target": Info.buildTarget,
        "cpu": CPUDescription.summary, "kernels": InstructionSet.active.description,
        "kernels_supported": InstructionSet.supported.map(\.description), "blas_library": GEMM.blasLibrary ?? NSNull(),
        "blas_core": (GEMM.backend == .blas ? GEMM.blasCore : nil) ?? NSNull(),
        "fashion_mnist": system ?? NSNull(), "bundled": BundledData.directory ?? NSNull(), "jpeg_library": TurboJPEG.shared?.path ?? NSNull(),
      ])
    }
  }
}
