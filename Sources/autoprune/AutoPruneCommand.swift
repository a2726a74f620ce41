import AutoPruneKernels
import ArgumentParser
import Foundation

@main
struct AutoPruneCommand: ParsableCommand {
  static func main() {
    MemoryTuning.keepFreedMemory()
    do {
      try Invocation.run(Invocation.expandingResume(Array(CommandLine.arguments.dropFirst())))
    } catch {
      // Help and --version go through ArgumentParser as usual; every failure becomes one line
      // on stderr (no usage dump), so scripts and people see exactly what was wrong.
      let code = exitCode(for: error)
      if code == .success { exit(withError: error) }
      let text = ErrorText.line(for: error)
      FileHandle.standardError.write(Data("autoprune: error: \(text)\n".utf8))
      Foundation.exit(code.rawValue)
    }
  }

  static let configuration = CommandConfiguration(
    commandName: "autoprune",
    abstract: "Train neural networks and prune them by learning auxiliary mask parameters (AutoPrune, NeurIPS 2019).",
    subcommands: [Demo.self, Train.self, Prune.self, Run.self, Eval.self, Export.self, Report.self, Table.self, Bench.self, Info.self, MakeImageFolder.self]
  )
}
