import AutoPruneNN
import Foundation

/// A recipe's runs on disk: `ROOT/recipe.yaml`, the recipe that made them, and one run directory
/// per seed, `ROOT/seed-N/` (log, summary, model, checkpoint while it runs). The rules that keep
/// an experiment's results safe live here: one directory holds one experiment, a finished seed
/// is never run over, an interrupted one is only resumed.
public struct Experiment {
  /// The recipe the seeds run.
  public let recipe: Recipe
  /// The experiment directory: `recipe.yaml` and one `seed-N` directory per seed.
  public let root: String
  /// The seeds run, in order: the recipe's, or 1…N when overridden.
  public let seeds: [UInt64]

  /// The recipe's experiment in `root` (default `runs/NAME`).
  public init(recipe: Recipe, root: String? = nil, seeds: [UInt64]? = nil) {
    self.recipe = recipe
    self.root = root ?? URL(fileURLWithPath: "runs").appendingPathComponent(recipe.name).path
    self.seeds = seeds ?? recipe.seeds
  }

  /// The run directory of `seed`, `ROOT/seed-N`.
  public func directory(seed: UInt64) -> String { URL(fileURLWithPath: root).appendingPathComponent("seed-\(seed)").path }

  /// The command line of one seed (after the tool's name), writing into its directory.
  public func arguments(seed: UInt64) -> [String] { recipe.arguments(seed: seed, runDirectory: directory(seed: seed)) }

  /// Where a seed stands on disk.
  public enum SeedState: Equatable, Sendable {
    /// Nothing of it yet.
    case new
    /// `summary.json` is there (written last, atomically: the run ended).
    case finished
    /// A checkpoint and no summary: it stopped and can resume.
    case interrupted
  }

  /// Where `seed` stands, judged from its directory's files.
  public func state(of seed: UInt64) -> SeedState {
    let directory = directory(seed: seed)
    if FileBytes.entryExists(directory + "/summary.json") { return .finished }
    return Checkpoint.exists(in: directory) ? .interrupted : .new
  }

  /// True when some `seed-*` directory under the root holds a finished or interrupted run.
  public var holdsRuns: Bool {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: root))?.filter { $0.hasPrefix("seed-") } ?? []
    return names.contains { name in
      let directory = URL(fileURLWithPath: root).appendingPathComponent(name).path
      return FileBytes.entryExists(directory + "/summary.json") || Checkpoint.exists(in: directory)
    }
  }

  /// Creates the root and records `text` (the recipe file `source`) as its `recipe.yaml`; a root
  /// holding another experiment's runs (a different recipe.yaml) is refused, so a recipe that
  /// happens to share the name cannot overwrite them.
  public func claim(recipeText text: String, source: String) throws {
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    let copy = URL(fileURLWithPath: root).appendingPathComponent("recipe.yaml").path
    if let previous = try? FileBytes.read(copy), previous != Array(text.utf8), holdsRuns {
      throw ExperimentError("\(root) holds another experiment (its recipe.yaml differs from \(source)): give --out-dir DIR, or rename the recipe")
    }
    try AtomicFile.write(Array(text.utf8), to: copy)
  }
}

/// An experiment directory that cannot take this run.
public struct ExperimentError: Error, CustomStringConvertible, Equatable {
  public let description: String
  /// An error with the message `description`.
  public init(_ description: String) { self.description = description }
}
