import AutoPrune
import ArgumentParser
import Foundation

struct Table: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Collect runs' summary.json files into one table (mean ± std over seed-N siblings).")

  enum Format: String, ExpressibleByArgument, CaseIterable { case md, csv, json }

  @Argument(help: "Run directories (searched recursively for summary.json) or summary files.")
  var paths: [String]

  @Option(help: "Output format: md, csv or json.")
  var format = Format.md

  func validate() throws {
    if paths.isEmpty { throw ValidationError("give at least one run directory") }
  }

  func run() throws {
    let table = try RunTable(paths: paths)
    if table.rows.isEmpty { throw Failure("no summary.json found under \(paths.joined(separator: ", "))") }
    let columns = RunTable.columns.filter { c in table.rows.contains { $0.metrics[c.key] != nil } }
    switch format {
    case .json:
      let rows = table.rows.map { row -> [String: Any] in
        var object: [String: Any] = ["experiment": row.experiment, "runs": row.runs]
        for (key, value) in row.metrics { object[key] = ["mean": value.mean, "std": value.std] }
        return object
      }
      Output.json(["rows": rows])
    case .csv:
      print((["experiment", "runs"] + columns.flatMap { [$0.key + "_mean", $0.key + "_std"] }).joined(separator: ","))
      for row in table.rows {
        let cells = columns.flatMap { c in row.metrics[c.key].map { ["\($0.mean)", "\($0.std)"] } ?? ["", ""] }
        print(([Table.csvQuoted(row.experiment), "\(row.runs)"] + cells).joined(separator: ","))
      }
    case .md:
      print("| experiment | runs | " + columns.map(\.title).joined(separator: " | ") + " |")
      print("|---|---|" + columns.map { _ in "---|" }.joined())
      for row in table.rows {
        let cells = columns.map { c in row.metrics[c.key].map { RunTable.format($0, percent: c.percent, runs: row.runs) } ?? "" }
        print("| \(row.experiment) | \(row.runs) | " + cells.joined(separator: " | ") + " |")
      }
    }
  }

  static func csvQuoted(_ text: String) -> String {
    text.contains(",") || text.contains("\"") ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
  }
}
