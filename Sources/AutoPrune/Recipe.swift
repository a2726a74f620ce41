import Foundation
import Yams

/// What is wrong with a recipe; the message names the file, the line and the key.
public struct RecipeError: Error, CustomStringConvertible {
  /// The recipe file.
  public let path: String
  /// 1-based line of the key at fault, when known.
  public let line: Int?
  /// The key at fault (`seeds`, `args.mu`), when known.
  public let key: String?
  /// What is wrong.
  public let message: String

  /// An error at `path:line`, about `key` when given.
  public init(path: String, line: Int?, key: String?, message: String) {
    self.path = path
    self.line = line
    self.key = key
    self.message = message
  }

  public var description: String {
    let place = line.map { "\(path):\($0)" } ?? path
    return key.map { "\(place): \($0): \(message)" } ?? "\(place): \(message)"
  }
}

extension RecipeError {
  /// A YAML syntax error on one line: Yams's description spans several (the line is quoted
  /// with a caret under it), and only its first would reach the user.
  static func yaml(_ error: Error, path: String) -> RecipeError {
    func problem(_ context: YamlError.Context?, _ text: String) -> String {
      [context.map { "\($0.text)" }, text].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
    }
    switch error as? YamlError {
    case .scanner(let context, let text, let mark, _), .parser(let context, let text, let mark, _), .composer(let context, let text, let mark, _):
      return RecipeError(path: path, line: mark.line, key: nil, message: "not valid YAML at column \(mark.column): \(problem(context, text))")
    case .reader(let text, let offset, _, _):
      return RecipeError(path: path, line: nil, key: nil, message: "not valid YAML text (\(text)\(offset.map { " at byte \($0)" } ?? ""))")
    case .duplicatedKeysInMapping(let duplicates, _):
      return RecipeError(path: path, line: nil, key: nil, message: "not valid YAML: duplicated keys \(duplicates.joined(separator: ", "))")
    default:
      let text = "\(error)".split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
      return RecipeError(path: path, line: nil, key: nil, message: "not valid YAML (\(text))")
    }
  }
}

/// An experiment as YAML (schema in recipes/README.md): which command, how many seeds, and the
/// command's options as `args` — each key is a flag of that command without its dashes, so the
/// recipe format never drifts from the command line.
///
/// ```yaml
/// name: lenet300-autoprune
/// command: prune
/// seeds: 3
/// args:
///   model: lenet300
///   pretrain-epochs: 10
///   mu: 7e-5
/// ```
public struct Recipe {
  /// The experiment's name: its runs go to `runs/NAME/seed-N/`.
  public var name: String
  /// The subcommand each seed runs (one of `commands`).
  public var command: String
  /// One run per seed (`seeds: 3` means 1, 2, 3).
  public var seeds: [UInt64]
  /// Flag name → (value, line); `true` becomes `--flag`, `false` becomes `--no-flag`.
  public var args: [(key: String, value: String, line: Int?)]

  /// Subcommands a recipe may run.
  public static let commands = ["train", "prune"]
  /// Options `autoprune run` sets for each seed (where its files go): never from the recipe.
  public static let reserved: Set<String> = ["out", "run-dir", "no-run-dir", "seed", "json", "resume"]
  /// Most seeds one experiment may run: each is a whole training run, so more is a typo.
  public static let maximumSeeds = 10_000

  /// Options renamed since recipes were first written (old name → new): a recipe or a `--set`
  /// using the old name means the new option, so older recipes and scripts keep running.
  public static let renamed = ["from": "weights", "masks-from": "masks", "eta-m": "mask-lr", "l0-lr": "mask-lr"]

  /// Parses recipe YAML; `path` names the file in errors, which are `RecipeError`s.
  ///
  /// ```swift
  /// let recipe = try Recipe.parse("name: x\nseeds: 3\n", path: "x.yaml")  // seeds [1, 2, 3]
  /// ```
  public static func parse(_ text: String, path: String) throws -> Recipe {
    let root: Node?
    do {
      root = try Yams.compose(yaml: text)
    } catch {
      throw RecipeError.yaml(error, path: path)
    }
    guard let mapping = root?.mapping else {
      throw RecipeError(path: path, line: root?.mark?.line, key: nil, message: "the top level must be a mapping of keys")
    }
    var name: String?
    var command = "prune"
    var seeds: [UInt64] = [1]
    var args: [(String, String, Int?)] = []
    for (keyNode, value) in mapping {
      let key = keyNode.string ?? ""
      let line = keyNode.mark?.line
      switch key {
      case "name":
        // The name becomes a directory under runs/: it must stay one plain directory there.
        guard let text = value.string, !text.isEmpty, text != ".", text != "..", !text.hasPrefix("-"),
          !text.contains(where: { $0 == "/" || $0 == "\\" || $0.unicodeScalars.contains { $0.properties.generalCategory == .control } })
        else {
          throw RecipeError(path: path, line: line, key: key, message: "must be a plain directory name (not . or .., no '/', '\\' or control characters, not starting with '-')")
        }
        name = text
      case "command":
        guard let text = value.string, commands.contains(text) else {
          throw RecipeError(path: path, line: line, key: key, message: "must be one of \(commands.joined(separator: ", "))")
        }
        command = text
      case "seeds":
        // Plain decimal only: Yams' `Node.int` also reads YAML 1.1 base-60 numbers (1:1:1:…),
        // and traps on overflow converting them.
        func decimal(_ node: Node) -> Int? { node.scalar.flatMap { Int($0.string) } }
        if let count = decimal(value), (1...maximumSeeds).contains(count) {
          seeds = (1...count).map(UInt64.init)
        } else if let list = value.sequence, (1...maximumSeeds).contains(list.count), list.allSatisfy({ (decimal($0) ?? -1) >= 0 }) {
          seeds = list.map { UInt64(decimal($0)!) }
          // Two runs of one seed would share (and overwrite) one directory.
          if Set(seeds).count != seeds.count {
            throw RecipeError(path: path, line: line, key: key, message: "lists a seed twice (each seed is one run directory)")
          }
        } else {
          throw RecipeError(
            path: path, line: line, key: key,
            message: "must be a count in 1…\(maximumSeeds) or a list of at most \(maximumSeeds) non-negative integers")
        }
      case "args":
        guard let options = value.mapping else {
          throw RecipeError(path: path, line: line, key: key, message: "must be a mapping of option names to values")
        }
        for (optionNode, optionValue) in options {
          let option = Recipe.renamed[optionNode.string ?? ""] ?? optionNode.string ?? ""
          if args.contains(where: { $0.0 == option }) {
            throw RecipeError(path: path, line: optionNode.mark?.line, key: "args.\(optionNode.string ?? "")", message: "gives \(option) a second time (under its old name)")
          }
          guard let scalar = optionValue.scalar else {
            throw RecipeError(path: path, line: optionNode.mark?.line, key: "args.\(option)", message: "must be a single value")
          }
          if reserved.contains(option) {
            throw RecipeError(path: path, line: optionNode.mark?.line, key: "args.\(option)", message: "is set by `autoprune run` for each seed; remove it")
          }
          args.append((option, scalar.string, optionNode.mark?.line))
        }
      default:
        throw RecipeError(path: path, line: line, key: key, message: "unknown key (expected name, command, seeds, args)")
      }
    }
    guard let name else { throw RecipeError(path: path, line: nil, key: "name", message: "is missing") }
    return Recipe(name: name, command: command, seeds: seeds, args: args)
  }

  /// Command-line arguments for one seed; `{seed}` in a value becomes the seed (so one recipe
  /// can read another's per-seed output, e.g. `masks-from: runs/x/seed-{seed}/model.safetensors`).
  public func arguments(seed: UInt64, runDirectory: String) -> [String] {
    var result = [command]
    for (key, raw, _) in args {
      let value = raw.replacingOccurrences(of: "{seed}", with: "\(seed)")
      switch value.lowercased() {
      case "true", "yes", "on": result.append("--\(key)")
      case "false", "no", "off": result.append("--no-\(key)")
      default: result += ["--\(key)", value]
      }
    }
    return result + [
      "--seed", "\(seed)", "--run-dir", runDirectory,
      "--out", URL(fileURLWithPath: runDirectory).appendingPathComponent("model.safetensors").path,
    ]
  }

  /// Replaces (or adds) an argument, as `run --set KEY=VALUE` does; the reserved options stay
  /// `run`'s, so no override can send a seed's files outside the experiment's directory.
  public mutating func set(_ key: String, to value: String) throws {
    let key = Recipe.renamed[key] ?? key
    if Recipe.reserved.contains(key) { throw RecipeError(path: "--set", line: nil, key: key, message: "is set by `autoprune run` for each seed") }
    if (key + value).unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
      throw RecipeError(path: "--set", line: nil, key: key, message: "holds a control character (a newline?)")
    }
    if let index = args.firstIndex(where: { $0.key == key }) {
      args[index].value = value
    } else {
      args.append((key, value, nil))
    }
  }

  /// Applies one `KEY=VALUE` override (`run --set`).
  public mutating func set(override: String) throws {
    let parts = override.split(separator: "=", maxSplits: 1).map(String.init)
    guard parts.count == 2, !parts[0].isEmpty else { throw RecipeError(path: "--set", line: nil, key: nil, message: "\(override): expected KEY=VALUE") }
    try set(parts[0], to: parts[1])
  }

  /// The recipe line of the option an error message names, if any.
  /// An option counts as named when `--KEY` (or `--no-KEY`) stands as a whole word, or when the
  /// message quotes its value (ArgumentParser's "Unexpected argument '3'" after a flag).
  public func line(mentionedIn message: String) -> (key: String, line: Int?)? {
    func names(_ flag: String) -> Bool {
      var rest = message[...]
      while let range = rest.range(of: flag) {
        let next = rest[range.upperBound...].first
        if next == nil || !(next!.isLetter || next!.isNumber || next! == "-") { return true }
        rest = rest[range.upperBound...]
      }
      return false
    }
    let named = args.first { names("--\($0.key)") || names("--no-\($0.key)") }
      ?? args.first { !$0.value.isEmpty && message.contains("'\($0.value)'") }
    return named.map { ("args.\($0.key)", $0.line) }
  }
}
