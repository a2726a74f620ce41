import AutoPruneNN
import Foundation
import XCTest

/// Writes small MNIST-format directories for the loader tests.
struct IDXFixture {
  let directory: URL

  init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("autoprune-idx-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  func remove() { try? FileManager.default.removeItem(at: directory) }

  static func images(_ n: Int, rows: Int = 4, cols: Int = 4) -> [UInt8] {
    IDXArray(shape: [n, rows, cols], bytes: (0..<(n * rows * cols)).map { UInt8($0 % 251) }).encoded()
  }

  static func labels(_ values: [UInt8]) -> [UInt8] { IDXArray(shape: [values.count], bytes: values).encoded() }

  func write(_ name: String, _ bytes: [UInt8], gzip: Bool = false) throws {
    let url = directory.appendingPathComponent(gzip ? name + ".gz" : name)
    try Data(bytes).write(to: url)
    if gzip {
      // The system gzip makes a real stream to decode.
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/bin/sh")
      p.arguments = ["-c", "gzip -c '\(url.path)' > '\(url.path).tmp' && mv '\(url.path).tmp' '\(url.path)'"]
      try p.run()
      p.waitUntilExit()
    }
  }

  /// A valid directory: 6 training and 3 test images of 4×4.
  func writeValid(gzip: Bool = false) throws {
    try write(MNISTFormat.trainImages, IDXFixture.images(6), gzip: gzip)
    try write(MNISTFormat.trainLabels, IDXFixture.labels([0, 1, 2, 3, 4, 9]), gzip: gzip)
    try write(MNISTFormat.testImages, IDXFixture.images(3), gzip: gzip)
    try write(MNISTFormat.testLabels, IDXFixture.labels([5, 6, 7]), gzip: gzip)
  }
}
