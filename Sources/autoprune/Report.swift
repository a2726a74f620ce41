import AutoPrune
import AutoPruneReport
import ArgumentParser
import Foundation

struct Report: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Write one self-contained HTML page (inline SVG, no scripts, no network) for runs: curves, per-layer bars, trade-off scatter, surviving architecture, input heat-map, commands.")

  @Argument(help: "Run directories (holding log.jsonl / summary.json), or directories to search for them (3 levels).")
  var runs: [String]

  @Option(help: "Where to write the page (.html).")
  var out: String?

  @Option(name: .customLong("html"), help: .hidden)
  var htmlAlias: String?

  /// `--out` (or its old name `--html`).
  var html: String { out ?? htmlAlias ?? "" }

  @Option(help: "Page title.")
  var title = "AutoPrune report"

  func validate() throws {
    if runs.isEmpty { throw ValidationError("give at least one run directory") }
    guard try either(out, htmlAlias, "--out", old: "--html") != nil else { throw ValidationError("give --out REPORT.html") }
    try Output.checkWritableDestination(html, flag: "--out")
    // The page must never replace what it is made from: a run's log, summary, recipe or model.
    let name = (html as NSString).lastPathComponent
    if (LogOptions.runFiles + ["recipe.yaml"]).contains(name) || ["safetensors", "jsonl", "json", "yaml", "yml", "onnx"].contains((name as NSString).pathExtension) {
      throw ValidationError("--out \(html) names a run's file, not a page: give a .html path")
    }
  }

  func run() throws {
    let path = try Report.write(runs: runs, to: html, title: title)
    print("wrote \(path)")
  }

  /// Writes the report of `runs` to `destination` atomically; returns a line saying what it holds.
  static func write(runs paths: [String], to destination: String, title: String) throws -> String {
    var warnings: [String] = []
    let (records, bytes) = try HTMLReport.write(runs: paths, to: destination, title: title, warnings: &warnings)
    for w in warnings { FileHandle.standardError.write(Data("autoprune: warning: \(w)\n".utf8)) }
    return "\(destination) (\(records.count) run\(records.count == 1 ? "" : "s"), \(bytes / 1024) KiB)"
  }
}
