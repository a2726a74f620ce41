import ArgumentParser

@main
struct AutoPruneCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "autoprune",
    abstract: "Train neural networks and prune them by learning auxiliary mask parameters (AutoPrune, NeurIPS 2019).",
    subcommands: [Demo.self, Train.self, Eval.self, Bench.self, Info.self]
  )
}
