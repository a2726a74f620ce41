import AutoPrune
import AutoPruneReport
import Foundation
import FuzzSupport

// Run directories as `table` and `report` read them. The input is split at its first NUL byte
// (JSON text cannot hold one): before it `summary.json`, after it `log.jsonl`; an empty part, or
// no NUL for the log, means no such file. The run is written as `exp/seed-1` and `exp/seed-2`,
// so `RunTable` averages two seeds, and `report` reads both and renders its page.

private let experiment = Scratch.path("runs/exp")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Scratch.bytes(data, size)
  let parts = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
  for seed in ["seed-1", "seed-2"] {
    let run = experiment + "/" + seed
    try? FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
    for (name, part) in [("summary.json", parts.first), ("log.jsonl", parts.dropFirst().first)] {
      if let part, !part.isEmpty { Scratch.write(part, to: run + "/" + name) } else { Scratch.remove(run + "/" + name) }
    }
  }
  _ = Scratch.expectingErrors(table)
  return Scratch.expectingErrors(report)
}

/// `autoprune table` in its three formats (Sources/autoprune/Table.swift), without printing.
private func table() throws {
  let table = try RunTable(paths: [experiment])
  for row in table.rows {
    for column in RunTable.columns {
      guard let value = row.metrics[column.key] else { continue }
      _ = RunTable.format(value, percent: column.percent, runs: row.runs)
      _ = "\(value.mean),\(value.std)"
    }
  }
  let rows = table.rows.map { row -> [String: Any] in
    var object: [String: Any] = ["experiment": row.experiment, "runs": row.runs]
    for (key, value) in row.metrics { object[key] = ["mean": value.mean, "std": value.std] }
    return object
  }
  _ = try? JSONSerialization.data(withJSONObject: ["rows": rows], options: [.sortedKeys, .withoutEscapingSlashes])
}

/// `autoprune report` (Sources/autoprune/Report.swift): discovery, reading, the HTML page.
private func report() throws {
  var warnings: [String] = []
  let records = try RunRecord.discover([experiment], warnings: &warnings)
  _ = HTMLReport.page(records, title: "fuzz")
}
