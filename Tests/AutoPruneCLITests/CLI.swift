import Foundation
import XCTest

/// Runs the built `autoprune` executable as a user would.
enum CLI {
  struct Result {
    let status: Int32
    let stdout: String
    let stderr: String

    /// The JSON object `--json` prints as the last line of stdout.
    func lastJSON(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
      let last = try XCTUnwrap(stdout.split(separator: "\n").last, "no output", file: file, line: line)
      return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "last line is not a JSON object: \(last)", file: file, line: line)
    }
  }

  static var executable: URL {
    let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
      + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
    return candidates.map { $0.appendingPathComponent("autoprune") }.first {
      FileManager.default.isExecutableFile(atPath: $0.path)
    } ?? URL(fileURLWithPath: "autoprune")
  }

  /// Runs to the end in `directory`, collecting both streams.
  static func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> Result {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.currentDirectoryURL = directory
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
  }

  /// IDX bytes of `shape`.
  static func idx(_ shape: [Int], _ bytes: [UInt8]) -> Data {
    var out: [UInt8] = [0, 0, 8, UInt8(shape.count)]
    for s in shape { out += [UInt8(s >> 24 & 255), UInt8(s >> 16 & 255), UInt8(s >> 8 & 255), UInt8(s & 255)] }
    return Data(out + bytes)
  }

  /// A tiny valid MNIST-format directory (6 train / 3 test images of 28×28 unless told).
  static func writeMNIST(_ dir: String, trainLabels: [UInt8] = [0, 1, 2, 3, 4, 9], trainImages: [UInt8]? = nil, testCount: Int = 3) throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let images = { (n: Int) in idx([n, 28, 28], (0..<(n * 784)).map { UInt8($0 % 256) }) }
    try (trainImages.map { Data($0) } ?? images(6)).write(to: URL(fileURLWithPath: dir + "/train-images-idx3-ubyte"))
    try idx([trainLabels.count], trainLabels).write(to: URL(fileURLWithPath: dir + "/train-labels-idx1-ubyte"))
    try images(testCount).write(to: URL(fileURLWithPath: dir + "/t10k-images-idx3-ubyte"))
    try idx([testCount], (0..<testCount).map { UInt8(5 + $0 % 5) }).write(to: URL(fileURLWithPath: dir + "/t10k-labels-idx1-ubyte"))
  }

  /// A failure: non-zero exit (`status` when given: 1 runtime, 64 usage), exactly one stderr
  /// line containing every `fragment`.
  static func assertFails(
    _ arguments: [String], in directory: URL, environment: [String: String] = [:], mentioning fragments: [String],
    status: Int32? = nil, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let r = try run(arguments, in: directory, environment: environment)
    XCTAssertNotEqual(r.status, 0, "should fail: \(arguments)", file: file, line: line)
    if let status { XCTAssertEqual(r.status, status, "exit status of \(arguments): \(r.stderr)", file: file, line: line) }
    let lines = r.stderr.split(separator: "\n")
    XCTAssertEqual(lines.count, 1, "one stderr line, got: \(r.stderr)", file: file, line: line)
    for f in fragments { XCTAssertTrue(r.stderr.contains(f), "stderr lacks '\(f)': \(r.stderr)", file: file, line: line) }
    XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("crashed"), file: file, line: line)
  }
}
