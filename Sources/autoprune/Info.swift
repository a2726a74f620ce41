import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

struct Info: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Version, GEMM backend, threads and where data was found.")

  @OptionGroup var runOptions: RunOptions

  static var buildTarget: String {
    #if AUTOPRUNE_NATIVE
      let cpu = "native (this build's host CPU)"
    #else
      let cpu = "generic (no -target-cpu; built-in GEMM is slower: use scripts/build.sh)"
    #endif
    #if AUTOPRUNE_FMA
      return cpu + ", FMA"
    #else
      return cpu
    #endif
  }

  func run() throws {
    runOptions.apply()
    let system = MNISTFormat.isPresent(in: BundledData.systemFashionMNIST) ? BundledData.systemFashionMNIST : nil
    let rows: [(String, String)] = [
      ("version", AutoPruneVersion.string),
      ("build target", Info.buildTarget),
      ("GEMM backend", GEMM.backend.rawValue + (GEMM.backend == .blas ? " (\(GEMM.blasLibrary ?? "?"))" : "")),
      ("GEMM available", GEMM.availableBackends.map(\.rawValue).joined(separator: ", ")),
      ("threads", "\(Parallel.threads) of \(Parallel.coreCount) cores"),
      ("full Fashion-MNIST", system ?? "not found (apt-get install dataset-fashion-mnist)"),
      ("bundled subset", BundledData.directory ?? "not found beside the executable"),
    ]
    let width = rows.map(\.0.count).max()!
    for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
    if runOptions.json {
      Output.json([
        "command": "info", "version": AutoPruneVersion.string, "gemm": GEMM.backend.rawValue,
        "threads": Parallel.threads, "build_target": Info.buildTarget,
        "fashion_mnist": system ?? NSNull(), "bundled": BundledData.directory ?? NSNull(),
      ])
    }
  }
}
