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
  var outDir: String?

  @Option(name: .customLong("out"), help: .hidden)
  var outAlias: String?

  /// `--out-dir` (or its old name `--out`).
  var out: String? { outDir ?? outAlias }

  @Option(name: .customLong("set"), help: "Override a recipe argument: KEY=VALUE (repeatable), e.g. --set prune-epochs=2.")
  var overrides: [String] = []

  @Flag(help: "Check the recipe and print each seed's command without running anything.")
  var dryRun = false

  @Flag(help: "Skip seeds whose summary.json already exists, so an interrupted experiment goes on where it stopped.")
  var skipDone = false

  @Option(help: "Go on with the experiment in DIR (its --out-dir): finished seeds are skipped, an interrupted one resumes from its checkpoint.")
  var resume: String?

  func validate() throws {
    _ = try either(outDir, outAlias, "--out-dir", old: "--out")
    try RunOptions.checkEnvironment()
    if let seeds, !(1...Recipe.maximumSeeds).contains(seeds) {
      throw ValidationError("--seeds must be in 1…\(Recipe.maximumSeeds) (got \(seeds))")
    }
    if let resume, let out, URL(fileURLWithPath: resume).standardizedFileURL != URL(fileURLWithPath: out).standardizedFileURL {
      throw ValidationError("--resume \(resume) and --out-dir \(out) name different directories")
    }
  }

  func run() throws {
    guard let text = String(validating: try FileBytes.read(recipe), as: UTF8.self) else { throw Failure("\(recipe): not UTF-8 text") }
    var parsed = try Recipe.parse(text, path: recipe)
    for override in overrides { try parsed.set(override: override) }
    let experiment = Experiment(recipe: parsed, root: out ?? resume, seeds: seeds.map { (1...$0).map(UInt64.init) })
    // Every seed's command is checked before any runs (a mistake is found in a second, not
    // after the first seeds have trained).
    for seed in experiment.seeds {
      do {
        _ = try AutoPruneCommand.parseAsRoot(Array(experiment.arguments(seed: seed).dropLast(4)) + ["--out", "model.safetensors"])
      } catch {
        throw blame(error, seed: seed, recipe: parsed)
      }
      if dryRun { print("autoprune " + experiment.arguments(seed: seed).joined(separator: " ")) }
    }
    if dryRun { return }
    try experiment.claim(recipeText: text, source: recipe)
    for seed in experiment.seeds {
      let directory = experiment.directory(seed: seed)
      switch experiment.state(of: seed) {
      case .finished where skipDone || resume != nil:
        print("== \(parsed.name), seed \(seed): done already (summary.json), skipped")
        continue
      case .finished: throw Failure("\(directory) holds a finished run: --skip-done skips finished seeds, --out-dir DIR runs the experiment elsewhere")
      case .interrupted where resume == nil:
        throw Failure("\(directory) holds an interrupted run: go on with `autoprune run \(recipe) --resume \(experiment.root)`")
      case .interrupted, .new: break
      }
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      let arguments = experiment.arguments(seed: seed)
      print("== \(parsed.name), seed \(seed): autoprune \(arguments.joined(separator: " "))")
      do {
        try Invocation.run(arguments + (experiment.state(of: seed) == .interrupted ? ["--resume", directory] : []))
      } catch {
        throw blame(error, seed: seed, recipe: parsed)
      }
    }
    print("\nruns in \(experiment.root); table: autoprune table \(experiment.root)")
  }

  /// The error for a seed's failure, blamed on the --set override or the recipe line it names.
  private func blame(_ error: Error, seed: UInt64, recipe parsed: Recipe) -> Error {
    let message = ErrorText.line(for: error)
    let overridden = Set(overrides.compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
    if let key = overridden.sorted().first(where: { message.contains("--\($0)") || message.contains("--no-\($0)") }) {
      return ValidationError("--set \(key)=…: \(message)")
    }
    if let place = parsed.line(mentionedIn: message) { return RecipeError(path: recipe, line: place.line, key: place.key, message: message) }
    return RecipeError(path: recipe, line: nil, key: nil, message: "seed \(seed): \(message)")
  }
}
