import Foundation

/// Writes the seed files of one harness into `Corpus/<harness>/`.
struct Seeds {
  let directory: String

  init(_ root: String, harness: String) throws {
    directory = (root as NSString).appendingPathComponent(harness)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  func write(_ name: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(name)))
  }

  func write(_ name: String, _ text: String) throws { try write(name, Array(text.utf8)) }
}

/// gzip of `bytes` by the system's `gzip -9 -n` (the library only inflates). `-n` leaves the
/// name and time out of the header, so the seeds come out the same on every machine.
func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
  let input = FileManager.default.temporaryDirectory.appendingPathComponent("make-corpus-\(getpid())")
  defer { try? FileManager.default.removeItem(at: input) }
  try Data(bytes).write(to: input)
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["gzip", "-9", "-n", "-c", input.path]
  let pipe = Pipe()
  process.standardOutput = pipe
  try process.run()
  let data = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
  return [UInt8](data)
}

/// `bytes` with one byte changed (a corrupt CRC, a flipped header field).
func flipping(_ bytes: [UInt8], at index: Int) -> [UInt8] {
  var out = bytes
  out[(index + out.count) % out.count] ^= 0xff
  return out
}
