import Foundation
import XCTest

import AutoPrune
import AutoPruneReport

final class ReportTests: XCTestCase {
  private var root: URL!

  override func setUpWithError() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

  /// A LeNet-300 pruning run as `prune --run-dir` leaves it: `epochs` log lines over three phases,
  /// a summary with per-layer counts, and a model whose fc1 mask keeps the pixels of a centred
  /// 14 × 14 square, `keptRows` rows each.
  private func writeRun(_ name: String, method: String, compression: Double, accuracy: Double, epochs: Int = 40, unitPruned: Bool = false, keptRows: Int = 30) throws -> String {
    let dir = root.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var log = ""
    for e in 0..<epochs {
      let phase = e < 10 ? "dense" : e < 30 ? "prune" : "finetune"
      var line: [String: Any] = ["phase": phase, "epoch": e + 1, "step": 600 * (e + 1), "loss": 0.5 - 0.005 * Double(e),
                                 "train_accuracy": 0.8 + 0.002 * Double(e), "test_accuracy": 0.79 + 0.002 * Double(e), "test_loss": 0.4]
      if phase != "dense" {
        let kept = max(1 / compression, 1 - Double(e - 9) / 20)
        line.merge(["kept_fraction": kept, "flops_fraction": kept, "compression": 1 / kept, "architecture": "784-300-100-10",
                    "per_layer_kept": ["fc1": kept, "fc2": min(1, kept * 2), "fc3": 1]]) { $1 }
      }
      log += String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self) + "\n"
    }
    try log.write(to: dir.appendingPathComponent("log.jsonl"), atomically: true, encoding: .utf8)
    let summary: [String: Any] = [
      "command": "prune", "model": "lenet300", "method": method, "test_accuracy": accuracy, "dense_test_accuracy": 0.89,
      "compression": compression, "flops_fraction": 1 / compression, "architecture": unitPruned ? "784-150-60-10" : "784-300-100-10",
      "command_line": "autoprune prune --model lenet300 --method \(method) --out <model> & more",
      "per_layer": [
        ["name": "fc1", "weights": 235200, "kept_weights": Int(235200 / compression), "units": 300, "alive_units": unitPruned ? 150 : 300],
        ["name": "fc2", "weights": 30000, "kept_weights": Int(30000 / compression), "units": 100, "alive_units": unitPruned ? 60 : 100],
        ["name": "fc3", "weights": 1000, "kept_weights": 1000, "units": 10, "alive_units": 10],
      ],
    ]
    try JSONSerialization.data(withJSONObject: summary).write(to: dir.appendingPathComponent("summary.json"))
    var mask = [Float](repeating: 0, count: 300 * 784)
    for r in 0..<keptRows { for y in 7..<21 { for x in 7..<21 { mask[r * 784 + y * 28 + x] = 1 } } }
    try SafeTensors.write([("fc1.weight", [300, 784], [Float](repeating: 0.5, count: 300 * 784)), ("fc1.weight_mask", [300, 784], mask)],
                          metadata: [:], to: dir.appendingPathComponent("model.safetensors").path)
    return dir.path
  }

  private func page(_ paths: [String]) throws -> (String, [RunRecord]) {
    var warnings: [String] = []
    let runs = try RunRecord.discover(paths, warnings: &warnings)
    XCTAssertEqual(warnings, [])
    return (HTMLReport.page(runs), runs)
  }

  func testPageHasEveryPartAndNothingExternal() throws {
    _ = try writeRun("a/autoprune", method: "autoprune", compression: 34, accuracy: 0.895)
    _ = try writeRun("a/magnitude", method: "magnitude", compression: 34, accuracy: 0.884)
    _ = try writeRun("a/unit", method: "autoprune", compression: 4.8, accuracy: 0.897, unitPruned: true)
    let (html, runs) = try page([root.appendingPathComponent("a").path])
    XCTAssertEqual(runs.map(\.name), ["autoprune", "magnitude", "unit"])
    for part in ["id=\"overview\"", "id=\"trade-off\"", "Pareto front", "Accuracy by epoch", "Kept weights and FLOPs by epoch",
                 "Weights kept per layer", "Input pixels fc1 still reads", "Surviving units per layer", "150/300",
                 "--method magnitude --out &lt;model&gt; &amp; more"] {
      XCTAssertTrue(html.contains(part), "missing \(part)")
    }
    XCTAssertEqual(html.components(separatedBy: "Surviving units per layer").count - 1, 1, "only the unit-pruned run has a diagram")
    // Self-contained: no URL of any kind, no script, nothing loaded.
    for forbidden in ["http:", "https:", "//", "<script", "src=", "@import", "url(http", "<link", "<img", "<iframe"] {
      XCTAssertFalse(html.lowercased().contains(forbidden), "page contains \(forbidden)")
    }
    XCTAssertTrue(html.contains("Content-Security-Policy\" content=\"default-src 'none'"))
    XCTAssertTrue(html.contains("prefers-color-scheme: dark"))
  }

  func testTwentyRunsStayUnderTwoMegabytes() throws {
    for i in 0..<20 {
      _ = try writeRun(String(format: "runs/run-%02d", i), method: ["autoprune", "magnitude", "dns", "l0"][i % 4],
                       compression: 2 + Double(i) * 3, accuracy: 0.9 - Double(i) * 0.002, epochs: 60, unitPruned: i % 3 == 0, keptRows: 5 + i * 10)
    }
    let (html, runs) = try page([root.appendingPathComponent("runs").path])
    XCTAssertEqual(runs.count, 20)
    XCTAssertLessThan(html.utf8.count, 2_000_000, "\(html.utf8.count) bytes")
  }

  func testHeatMapCountsSurvivingConnectionsPerPixel() throws {
    let path = try writeRun("one", method: "autoprune", compression: 30, accuracy: 0.89, keptRows: 12)
    var warnings: [String] = []
    let run = try RunRecord(directory: path, warnings: &warnings)
    let counts = try XCTUnwrap(run.inputConnections)
    XCTAssertEqual(counts[14 * 28 + 14], 12)  // centre pixel: 12 rows keep it
    XCTAssertEqual(counts[0], 0)
    XCTAssertEqual(counts.reduce(0, +), Double(12 * 14 * 14))
  }

  func testParetoFrontKeepsOnlyUndominatedRuns() {
    let front = HTMLReport.paretoFront([(10, 89), (34, 89.5), (34, 88.4), (5, 88), (100, 80), (50, 85)])
    XCTAssertEqual(front.map(\.x), [34, 50, 100])
    XCTAssertEqual(front.map(\.y), [89.5, 85, 80])
  }

  func testBadInputIsNamedAndARunStillGoingIsShown() throws {
    var warnings: [String] = []
    XCTAssertThrowsError(try RunRecord.discover([root.appendingPathComponent("missing").path], warnings: &warnings)) {
      XCTAssertTrue("\($0)".contains("not a directory"), "\($0)")
    }
    XCTAssertThrowsError(try RunRecord.discover([root.path], warnings: &warnings)) {
      XCTAssertTrue("\($0)".contains("no runs found"), "\($0)")
    }
    let dir = root.appendingPathComponent("going")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try "{\"phase\":\"dense\",\"epoch\":1,\"test_accuracy\":0.8}\n{not json\n".write(to: dir.appendingPathComponent("log.jsonl"), atomically: true, encoding: .utf8)
    let runs = try RunRecord.discover([dir.path], warnings: &warnings)
    XCTAssertEqual(warnings.count, 1)
    XCTAssertTrue(warnings[0].contains("log.jsonl:2"), warnings[0])
    XCTAssertFalse(runs[0].finished)
    XCTAssertTrue(HTMLReport.page(runs).contains("no summary yet"))
    try "[1,2]".write(to: dir.appendingPathComponent("summary.json"), atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try RunRecord.discover([dir.path], warnings: &warnings)) {
      XCTAssertTrue("\($0)".contains("summary.json: not a JSON object"), "\($0)")
    }
  }
}
