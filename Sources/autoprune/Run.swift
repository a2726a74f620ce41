import AutoPrune
import AutoPruneNN
import ArgumentParser
import Foundation

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run an experiment recipe (YAML) for each seed into runs/NAME/seed-N/.",
    discussion: "Each seed's directory gets log.jsonl, summary.json and model.safetensors; collect them with `autoprune table`.")

  @Argument(help: "Recipe file (schema in recipes/README.md).")
  var recipe: String

  @Option(parsing: .unconditional, help: "Run seeds 1…N instead of the recipe's seeds.")
  var seeds: Int?

  @Option(help: "Directory for this experiment (default: runs/NAME).")
  var out: String?

  @Option(name: .customLong("set"), help: "Override a recipe argument: KEY=VALUE (repeatable), e.g. --set prune-epochs=2.")
  var overrides: [String] = []

  @Flag(help: "Check the recipe and print each seed's command without running anything.")
  var dryRun = false

  @Flag(help: "Skip seeds whose summary.json already exists, so an interrupted experiment goes on where it stopped.")
  var skipDone = false

  @Option(help: "Go on with the experiment in DIR (its --out): finished seeds are skipped, an interrupted one resumes from its checkpoint.")
  var resume: String?

  func validate() throws {
    try RunOptions.checkEnvironment()
    if let seeds, !(1...Recipe.maximumSeeds).contains(seeds) {
      throw ValidationError("--seeds must be in 1…\(Recipe.maximumSeeds) (got \(seeds))")
    }
    if let resume, let out, URL(fileURLWithPath: resume).standardizedFileURL != URL(fileURLWithPath: out).standardizedFileURL {
      throw ValidationError("--resume \(resume) and --out \(out) name different directories")
    }
  }

  /// True when some `seed-*` directory under `root` holds a finished or interrupted run.
  static func holdsRuns(_ root: String) -> Bool {
    let seeds = (try? FileManager.default.contentsOfDirectory(atPath: root))?.filter { $0.hasPrefix("seed-") } ?? []
    return seeds.contains { seed in
      let directory = URL(fileURLWithPath: root).appendingPathComponent(seed).path
      return FileBytes.entryExists(directory + "/summary.json") || Checkpoint.exists(in: directory)
    }
  }

  func run() throws {
    guard let text = String(validating: try FileBytes.read(recipe), as: UTF8.self) else {
      throw Failure("\(recipe): not UTF-8 text")
    }
    var parsed = try Recipe.parse(text, path: recipe)
    for override in overrides {
      let parts = override.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--set \(override): expected KEY=VALUE") }
      try parsed.set(parts[0], to: parts[1])
    }
    let root = out ?? resume ?? URL(fileURLWithPath: "runs").appendingPathComponent(parsed.name).path
    let overridden = Set(overrides.compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
    /// The error for a seed's failure, blamed on the --set override or the recipe line it names.
    func blame(_ error: Error, seed: UInt64) -> Error {
      let message = ErrorText.line(for: error)
      if let key = overridden.first(where: { message.contains("--\($0)") || message.contains("--no-\($0)") }) {
        return ValidationError("--set \(key)=…: \(message)")
      }
      if let place = parsed.line(mentionedIn: message) { return RecipeError(path: recipe, line: place.line, key: place.key, message: message) }
      return RecipeError(path: recipe, line: nil, key: nil, message: "seed \(seed): \(message)")
    }
    // Every seed's command is checked before any runs (a mistake is found in a second, not
    // after the first seeds have trained).
    for seed in seeds.map({ (1...$0).map(UInt64.init) }) ?? parsed.seeds {
      let arguments = parsed.arguments(seed: seed, runDirectory: URL(fileURLWithPath: root).appendingPathComponent("seed-\(seed)").path)
      do {
        _ = try AutoPruneCommand.parseAsRoot(Array(arguments.dropLast(4)) + ["--out", "model.safetensors"])
      } catch {
        throw blame(error, seed: seed)
      }
      if dryRun { print("autoprune " + arguments.joined(separator: " ")) }
    }
    if dryRun { return }
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    // One directory, one experiment: another recipe that happens to share the name must not
    // overwrite this one's seeds.
    let recipeCopy = URL(fileURLWithPath: root).appendingPathComponent("recipe.yaml").path
    if let previous = try? FileBytes.read(recipeCopy), previous != Array(text.utf8), Run.holdsRuns(root) {
      throw Failure("\(root) holds another experiment (its recipe.yaml differs from \(recipe)): give --out DIR, or rename the recipe")
    }
    try AtomicFile.write(Array(text.utf8), to: recipeCopy)
    let seedList = seeds.map { (1...$0).map(UInt64.init) } ?? parsed.seeds
    for seed in seedList {
      let directory = URL(fileURLWithPath: root).appendingPathComponent("seed-\(seed)").path
      // summary.json is written last (atomically), so its presence means the seed finished.
      if (skipDone || resume != nil) && FileManager.default.fileExists(atPath: URL(fileURLWithPath: directory).appendingPathComponent("summary.json").path) {
        print("== \(parsed.name), seed \(seed): done already (summary.json), skipped")
        continue
      }
      if resume == nil && Checkpoint.exists(in: directory) {
        throw Failure("\(directory) holds an interrupted run: go on with `autoprune run \(recipe) --resume \(root)`")
      }
      if FileBytes.entryExists(URL(fileURLWithPath: directory).appendingPathComponent("summary.json").path) {
        throw Failure("\(directory) holds a finished run: --skip-done skips finished seeds, --out DIR runs the experiment elsewhere")
      }
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      var arguments = parsed.arguments(seed: seed, runDirectory: directory)
      print("== \(parsed.name), seed \(seed): autoprune \(arguments.joined(separator: " "))")
      if resume != nil && Checkpoint.exists(in: directory) { arguments += ["--resume", directory] }
      do {
        try Invocation.run(arguments)
      } catch {
        throw blame(error, seed: seed)
      }
    }
    print("\nruns in \(root); table: autoprune table \(root)")
  }
}
