import AutoPruneKernels
import ArgumentParser
import Foundation

@main
struct AutoPruneCommand: ParsableCommand {
  static func main() {
    MemoryTuning.keepFreedMemory()
    // Under mpirun or srun every rank joins the job first (MPI_Init), before any work.
    let world = MPI.world
    if world == nil, let problem = MPI.problem {
      FileHandle.standardError.write(Data("autoprune: error: \(problem)\n".utf8))
      Foundation.exit(1)
    }
    if let world, world.rank > 0 {
      // One voice: only rank 0 prints results and progress (errors still reach stderr).
      let sink = open("/dev/null", O_WRONLY)
      if sink >= 0 { dup2(sink, STDOUT_FILENO) }
    }
    do {
      try Invocation.run(Invocation.expandingResume(Array(CommandLine.arguments.dropFirst())))
      world?.finalize()
    } catch {
      // Help and --version go through ArgumentParser as usual; every failure becomes one line
      // on stderr (no usage dump), so scripts and people see exactly what was wrong.
      let code = exitCode(for: error)
      if code == .success {
        world?.finalize()
        exit(withError: error)
      }
      let text = ErrorText.line(for: error)
      let rank = world.map { $0.size > 1 ? " (rank \($0.rank) of \($0.size))" : "" } ?? ""
      FileHandle.standardError.write(Data("autoprune: error\(rank): \(text)\n".utf8))
      // A failing rank ends the whole job: the others would wait for it in their next
      // collective call forever.
      if let world, world.size > 1 { world.abort(code: code.rawValue) }
      world?.finalize()
      Foundation.exit(code.rawValue)
    }
  }

  static let configuration = CommandConfiguration(
    commandName: "autoprune",
    abstract: "Train neural networks and prune them by learning auxiliary mask parameters (AutoPrune, NeurIPS 2019).",
    subcommands: [Demo.self, Train.self, Prune.self, Run.self, Eval.self, Export.self, Import.self, Report.self, Table.self, Bench.self, Info.self, MakeImageFolder.self]
  )
}
