import AutoPruneKernels
import Foundation

/// A run's record on disk (schema in docs/run-log.md): `log.jsonl`, one JSON object per epoch,
/// appended and flushed as it happens so a crash loses nothing already logged, and
/// `summary.json`, written atomically at the end.
public final class RunLog {
  /// The run directory: `log.jsonl` and `summary.json` go here (and checkpoints, beside them).
  public let directory: URL
  private let handle: FileHandle
  private let start = Date()
  /// Seconds the run had spent before it was resumed.
  private let elapsedBefore: Double

  /// Creates `directory` (and parents) and opens `log.jsonl`: empty for a new run, or cut to
  /// `keepingBytes` (its length at the checkpoint) when a run resumes, so lines written after
  /// the checkpoint are not repeated.
  public init(directory: String, keepingBytes: UInt64 = 0, elapsedBefore: Double = 0) throws {
    self.elapsedBefore = elapsedBefore
    self.directory = URL(fileURLWithPath: directory)
    // Under MPI only rank 0 writes the log; the others write their lines nowhere.
    if !MPI.writes, let sink = FileHandle(forWritingAtPath: "/dev/null") {
      handle = sink
      return
    }
    let manager = FileManager.default
    do {
      try manager.createDirectory(at: self.directory, withIntermediateDirectories: true)
    } catch {
      throw SafeTensorsError.writeFailed(directory, reason: "cannot create the run directory")
    }
    let log = self.directory.appendingPathComponent("log.jsonl")
    if !manager.fileExists(atPath: log.path) { _ = manager.createFile(atPath: log.path, contents: nil) }
    guard let handle = FileHandle(forWritingAtPath: log.path) else {
      throw SafeTensorsError.writeFailed(log.path, reason: "cannot open for appending")
    }
    let length = handle.seekToEndOfFile()
    guard keepingBytes <= length else {
      throw SafeTensorsError.writeFailed(log.path, reason: "shorter (\(length) bytes) than at the checkpoint (\(keepingBytes)): not this run's log")
    }
    handle.truncateFile(atOffset: keepingBytes)
    self.handle = handle
  }

  /// Bytes in `log.jsonl` now (what a checkpoint records).
  public var byteCount: UInt64 { handle.offsetInFile }

  deinit { try? handle.close() }

  /// Path of a file inside the run directory.
  public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  /// Seconds since the log was opened.
  public var elapsed: Double { elapsedBefore + Date().timeIntervalSince(start) }

  /// Appends one epoch's record (with `elapsed_seconds` set) as a line of JSON, flushed.
  public func record(_ epoch: EpochRecord) {
    var line = epoch
    line.elapsedSeconds = elapsed
    guard let data = try? RunRecordCoding.line(line) else { return }
    handle.write(data + Data("\n".utf8))
    try? handle.synchronize()
  }

  /// Writes `summary.json` atomically.
  public func writeSummary(_ summary: RunSummary) throws {
    try AtomicFile.write([UInt8](RunRecordCoding.document(summary)), to: path("summary.json"))
  }
}
