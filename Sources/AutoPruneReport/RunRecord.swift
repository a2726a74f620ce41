import AutoPrune
import Foundation

/// What the report knows of one run directory (docs/run-log.md): its per-epoch log, its summary,
/// the recipe that made it, and from its model file the surviving input connections of a first
/// dense layer on 28 × 28 images.
public struct RunRecord {
  /// The run's directory as given or found by `discover`, where its files are read.
  public let directory: String
  /// Short name: the path relative to the common parent of all runs reported.
  public var name: String
  /// Nil while the run is going (or after it was killed): only its log exists.
  public let summary: RunSummary?
  /// The lines of `log.jsonl` that could be read, in file order; empty without a log.
  public let epochs: [EpochRecord]
  /// `recipe.yaml` of the run's directory, else of its parent (a sweep's shared recipe); nil without one.
  public let recipe: String?
  /// Per input pixel, how many first-layer connections survive (LeNet-300-100 models only).
  public let inputConnections: [Double]?

  /// Model name from the summary (`lenet300`, `lenet5`, …); nil until the run finishes.
  public var model: String? { summary?.model }
  /// Pruning method from the summary: `dense` for a finished `train` run, `unknown` while a run has no summary.
  public var method: String { summary?.method ?? (summary?.command == "train" ? "dense" : "unknown") }
  /// Final test accuracy in [0, 1]: the summary's, else the last logged epoch's.
  public var testAccuracy: Double? { summary?.testAccuracy ?? epochs.last?.testAccuracy }
  /// Test accuracy in [0, 1] of the dense model pruning started from; nil for training runs,
  /// pruning from scratch, and unfinished runs.
  public var denseAccuracy: Double? { summary?.denseTestAccuracy }
  /// Weights / weights kept (≥ 1): the summary's, 1 for a finished `train` run, else the last
  /// logged epoch's.
  public var compression: Double? {
    if let c = summary?.compression { return c }
    if summary?.command == "train" { return 1 }
    return epochs.last?.compression
  }
  /// Multiply-adds kept / dense multiply-adds, in [0, 1]: the summary's, else the last logged epoch's.
  public var flopsFraction: Double? { summary?.flopsFraction ?? epochs.last?.flopsFraction }
  /// Surviving widths such as `784-112-43-10`: the summary's, else the last logged epoch's.
  public var architecture: String? { summary?.architecture ?? epochs.last?.architecture }
  /// The command that reruns this run, from the summary; nil until the run finishes.
  public var commandLine: String? { summary?.commandLine }
  /// Finished: the summary exists (a run still going, or killed, has only its log).
  public var finished: Bool { summary != nil }
  /// One row per prunable layer in forward order, from the summary; empty until the run finishes.
  public var perLayer: [LayerRecord] { summary?.perLayer ?? [] }

  /// Reads `directory`; `warnings` collects lines of the log that could not be read.
  public init(directory: String, warnings: inout [String]) throws {
    self.directory = directory
    name = directory
    let url = URL(fileURLWithPath: directory)
    let logURL = url.appendingPathComponent("log.jsonl"), summaryURL = url.appendingPathComponent("summary.json")
    var epochs: [EpochRecord] = []
    if let data = FileManager.default.contents(atPath: logURL.path) {
      for (i, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.isEmpty {
        do {
          epochs.append(try RunRecordCoding.decode(EpochRecord.self, from: Data(line), path: "\(logURL.path):\(i + 1)"))
        } catch let error as RunValueError {
          warnings.append("\(error.path): \(error.key) = \(error.value) is out of range; line skipped")
        } catch {
          warnings.append("\(error); line skipped")
        }
      }
    }
    self.epochs = epochs
    var summary: RunSummary?
    if let data = FileManager.default.contents(atPath: summaryURL.path) {
      summary = try RunRecordCoding.decode(RunSummary.self, from: data, path: summaryURL.path)
    }
    self.summary = summary
    recipe = [url.appendingPathComponent("recipe.yaml"), url.deletingLastPathComponent().appendingPathComponent("recipe.yaml")]
      .lazy.compactMap { try? String(contentsOf: $0, encoding: .utf8) }.first
    let modelPath = [url.appendingPathComponent("model.safetensors").path, summary?.out]
      .compactMap { $0 }.first { FileManager.default.fileExists(atPath: $0) }
    inputConnections = summary?.model == "lenet300" ? modelPath.flatMap { RunRecord.connectionsPerPixel(modelPath: $0) } : nil
  }

  /// For fc1 of a pruned LeNet-300-100 (`fc1.weight_mask`, 300 × 784): surviving connections of
  /// each input pixel. Nil without a mask (a dense model keeps them all) or on any read error:
  /// the heat-map is an extra, never a reason to fail the report.
  static func connectionsPerPixel(modelPath: String) -> [Double]? {
    guard let file = try? SafeTensors.read(path: modelPath),
      let mask = file.tensors.first(where: { $0.name == "fc1.weight_mask" }), mask.shape.count == 2, mask.shape[1] == 784
    else { return nil }
    let weight = file.tensors.first { $0.name == "fc1.weight" && $0.shape == mask.shape }
    var counts = [Double](repeating: 0, count: 784)
    for r in 0..<mask.shape[0] {
      for c in 0..<784 {
        let i = r * 784 + c
        if mask.values[i] != 0 && (weight.map { $0.values[i] != 0 } ?? true) { counts[c] += 1 }
      }
    }
    return counts
  }

  /// Run directories under `paths`: a path holding `log.jsonl` or `summary.json` is a run,
  /// otherwise its subdirectories are searched (three levels deep), in name order.
  public static func discover(_ paths: [String], warnings: inout [String]) throws -> [RunRecord] {
    var directories: [String] = []
    func isRun(_ path: String) -> Bool {
      ["log.jsonl", "summary.json"].contains { FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent($0)) }
    }
    func search(_ path: String, depth: Int) {
      if isRun(path) {
        directories.append(path)
        return
      }
      guard depth > 0, let children = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
      for child in children.sorted(by: { $0.localizedStandardCompare($1) == .orderedAscending }) {
        var isDirectory: ObjCBool = false
        let full = (path as NSString).appendingPathComponent(child)
        if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue { search(full, depth: depth - 1) }
      }
    }
    for path in paths {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw ReportError.notADirectory(path)
      }
      let before = directories.count
      search(path, depth: 3)
      if directories.count == before { throw ReportError.noRuns(path) }
    }
    var runs = try directories.map { try RunRecord(directory: $0, warnings: &warnings) }
    let names = RunRecord.shortNames(directories)
    for i in runs.indices { runs[i].name = names[i] }
    return runs
  }

  /// Paths without their common leading directories ("a/x/seed-1", "a/y/seed-1" → "x/seed-1",
  /// "y/seed-1"); a single run keeps its last component.
  static func shortNames(_ paths: [String]) -> [String] {
    let split = paths.map { URL(fileURLWithPath: $0).standardizedFileURL.pathComponents }
    guard let first = split.first else { return [] }
    var common = first.count
    for p in split.dropFirst() {
      common = min(common, zip(first, p).prefix { $0 == $1 }.count)
    }
    common = min(common, (split.map(\.count).min() ?? 1) - 1)
    return split.map { $0.dropFirst(common).joined(separator: "/") }
  }
}

/// Why no report could be made; each message names the path at fault.
public enum ReportError: Error, CustomStringConvertible, Equatable {
  case notADirectory(String)
  case noRuns(String)

  public var description: String {
    switch self {
    case .notADirectory(let p): return "\(p): not a directory"
    case .noRuns(let p): return "\(p): no runs found (a run directory holds log.jsonl or summary.json)"
    }
  }
}
