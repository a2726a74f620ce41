import AutoPruneKernels
import ArgumentParser

@main
struct AutoPruneCommand: ParsableCommand {
  static func main() {
    MemoryTuning.keepFreedMemory()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      exit(withError: error)
    }
  }

  static let configuration = CommandConfiguration(
    commandName: "autoprune",
    abstract: "Train neural networks and prune them by learning auxiliary mask parameters (AutoPrune, NeurIPS 2019).",
    subcommands: [Demo.self, Train.self, Eval.self, Bench.self, Info.self]
  )
}
