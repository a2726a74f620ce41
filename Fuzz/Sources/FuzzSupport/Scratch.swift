import Foundation

/// What every harness shares: a scratch directory for the readers that take a path, and the
/// rule that a thrown error is the right answer to bad bytes.
///
/// ```swift
/// @_cdecl("LLVMFuzzerTestOneInput")
/// public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
///   Scratch.expectingErrors { _ = try SafeTensors.decode(Scratch.bytes(data, size), path: "fuzz") }
/// }
/// ```
public enum Scratch {
  /// One directory per process, reused by every input: in memory (/dev/shm) when there is one,
  /// so writing each input costs no disk I/O. Removed when the process exits normally; after a
  /// crash it stays, holding the files the crashing input made.
  public static let directory: String = {
    let base = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = (base as NSString).appendingPathComponent("autoprune-fuzz-\(getpid())")
    try? FileManager.default.removeItem(atPath: path)
    do {
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
      fatalError("fuzz harness: cannot create its scratch directory \(path): \(error)")
    }
    atexit { try? FileManager.default.removeItem(atPath: Scratch.directory) }
    return path
  }()

  /// `name` inside the scratch directory (subdirectories are made on write).
  public static func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

  /// Replaces the file at `path` with `bytes`. A failure here is the harness's, not the
  /// reader's, so it stops the run instead of passing for a refused input.
  public static func write(_ bytes: some Collection<UInt8>, to path: String) {
    let parent = (path as NSString).deletingLastPathComponent
    try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
      fatalError("fuzz harness: cannot write \(path)")
    }
  }

  /// Removes `path` if it is there (a file a previous input made that this one must not see).
  public static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

  /// libFuzzer's input as an array (the readers take `[UInt8]`).
  public static func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
  }

  /// Runs `body` on one input. A Swift error is the reader refusing bad bytes, which is what it
  /// should do; only a trap, a sanitizer report, a timeout or too much memory fails the fuzzer.
  /// With FUZZ_VERBOSE=1 each refusal is printed (to see how far a seed gets).
  public static func expectingErrors(_ body: () throws -> Void) -> CInt {
    do {
      try body()
      if verbose { FileHandle.standardError.write(Data("fuzz: accepted\n".utf8)) }
    } catch {
      if verbose { FileHandle.standardError.write(Data("fuzz: refused: \(error)\n".utf8)) }
    }
    return 0
  }

  private static let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] == "1"
}
