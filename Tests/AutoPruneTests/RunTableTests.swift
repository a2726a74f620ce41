import AutoPrune
import Foundation
import XCTest

final class RunTableTests: XCTestCase {
  func testSeedsOfOneExperimentAreAveraged() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("table-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    func write(_ dir: String, _ object: [String: Any]) throws {
      let url = root.appendingPathComponent(dir)
      try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
      try JSONSerialization.data(withJSONObject: object).write(to: url.appendingPathComponent("summary.json"))
    }
    try write("exp/seed-1", ["compression": 30.0, "test_accuracy": 0.89, "dense_test_accuracy": 0.90])
    try write("exp/seed-2", ["compression": 34.0, "test_accuracy": 0.87, "dense_test_accuracy": 0.90])
    try write("single", ["compression": 10.0, "test_accuracy": 0.5])
    let table = try RunTable(paths: [root.path])
    XCTAssertEqual(table.rows.count, 2)
    let exp = try XCTUnwrap(table.rows.first { $0.experiment.hasSuffix("/exp") })
    XCTAssertEqual(exp.runs, 2)
    XCTAssertEqual(exp.metrics["compression"]?.mean ?? 0, 32, accuracy: 1e-12)
    // Sample standard deviation of {30, 34}: √8.
    XCTAssertEqual(exp.metrics["compression"]?.std ?? 0, 8.0.squareRoot(), accuracy: 1e-12)
    XCTAssertEqual(exp.metrics["delta_points"]?.mean ?? 0, -2, accuracy: 1e-9)
    let single = try XCTUnwrap(table.rows.first { $0.experiment.hasSuffix("/single") })
    XCTAssertNil(single.metrics["delta_points"])
    XCTAssertEqual(RunTable.format((0.889, 0.0123), percent: true, runs: 3), "88.90% ± 1.23")
    XCTAssertThrowsError(try RunTable(paths: [root.appendingPathComponent("missing").path]))
  }
}
