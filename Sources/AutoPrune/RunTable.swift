import Foundation
import AutoPruneNN

/// Collects `summary.json` files of runs into rows, one per experiment, with mean ± standard
/// deviation over seeds. Runs of one experiment live in sibling directories named `seed-N`
/// (`runs/lenet300-autoprune/seed-1/summary.json`, …); any other run is its own experiment.
public struct RunTable {
  /// One experiment: its seeds' summaries, averaged.
  public struct Row {
    /// The run directory without its `seed-N` part, relative to the current directory when below it.
    public var experiment: String
    /// Summaries (seeds) averaged into the row.
    public var runs: Int
    /// Metric name → (mean, sample standard deviation over runs; 0 for one run); a metric is
    /// left out unless every run of the experiment reports it.
    public var metrics: [String: (mean: Double, std: Double)]
  }

  /// Metrics shown, in order, when present: (summary key, column title, shown as percent).
  public static let columns: [(key: String, title: String, percent: Bool)] = [
    ("compression", "compression", false), ("flops_fraction", "FLOPs", true), ("test_accuracy", "test acc", true),
    ("dense_test_accuracy", "dense acc", true), ("delta_points", "Δ points", false), ("epoch_seconds", "s/epoch", false),
  ]

  /// One row per experiment, in the order the paths named them.
  public var rows: [Row]

  /// Reads every `summary.json` under `paths` (files or directories); one row per experiment, in
  /// the order the paths name them.
  public init(paths: [String]) throws {
    var groups: [String: [RunSummary]] = [:]
    var order: [String] = []
    for path in paths {
      for file in try RunTable.summaries(under: path) {
        let bytes: [UInt8]
        do {
          bytes = try FileBytes.read(file)
        } catch DataError.unreadable(_, let reason) {
          throw SafeTensorsError.unreadable(file, reason: reason)  // a broken link, a directory, a FIFO: said as such
        }
        let object = try RunRecordCoding.decode(RunSummary.self, from: Data(bytes), path: file)
        let experiment = RunTable.experiment(of: file)
        if groups[experiment] == nil { order.append(experiment) }
        groups[experiment, default: []].append(object)
      }
    }
    // Rows keep the order of `paths`, so a table reads in the order its caller chose.
    rows = order.map { name in
      let runs = groups[name]!
      var metrics: [String: (Double, Double)] = [:]
      for (key, _, _) in RunTable.columns {
        let values = runs.compactMap { run -> Double? in
          if key == "delta_points", let a = run.testAccuracy, let d = run.denseTestAccuracy { return 100 * (a - d) }
          return run.number(key)
        }
        guard values.count == runs.count, !values.isEmpty else { continue }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.count > 1 ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1) : 0
        metrics[key] = (mean, variance.squareRoot())
      }
      return Row(experiment: name, runs: runs.count, metrics: metrics)
    }
  }

  static func summaries(under path: String) throws -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw SafeTensorsError.unreadable(path, reason: "no such file or directory")
    }
    if !isDirectory.boolValue { return [path] }
    let enumerator = FileManager.default.enumerator(atPath: path)
    var found: [String] = []
    while let item = enumerator?.nextObject() as? String {
      if (item as NSString).lastPathComponent == "summary.json" { found.append(URL(fileURLWithPath: path).appendingPathComponent(item).path) }
    }
    return found.sorted()
  }

  /// The run directory, without a trailing `seed-N` component, relative to the current
  /// directory when it lies below it.
  static func experiment(of summary: String) -> String {
    var directory = URL(fileURLWithPath: summary).deletingLastPathComponent()
    if directory.lastPathComponent.hasPrefix("seed-") { directory = directory.deletingLastPathComponent() }
    let here = FileManager.default.currentDirectoryPath + "/"
    return directory.path.hasPrefix(here) ? String(directory.path.dropFirst(here.count)) : directory.path
  }

  /// `mean ± std` text for a metric.
  public static func format(_ value: (mean: Double, std: Double), percent: Bool, runs: Int) -> String {
    let scale = percent ? 100.0 : 1.0
    let mean = String(format: percent ? "%.2f%%" : "%.2f", value.mean * scale)
    return runs > 1 ? mean + String(format: " ± %.2f", value.std * scale) : mean
  }
}
