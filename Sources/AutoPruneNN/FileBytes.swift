#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Foundation

/// Reading a whole file with errors that say why it could not be read: a dangling symbolic link
/// or a link loop is named as such, not as a missing file.
public enum FileBytes {
  /// True when something is at `path`, a dangling or looping symbolic link included (so the
  /// reader reports what is wrong with it instead of "not found").
  public static func entryExists(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0
  }

  /// The bytes of the regular file at `path`.
  public static func read(_ path: String) throws -> [UInt8] {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; it is
    // refused below as not a regular file (a regular file reads the same either way).
    let fd = open(path, O_RDONLY | O_NONBLOCK)
    guard fd >= 0 else { throw DataError.unreadable(path, reason: reason(path, errno)) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw DataError.unreadable(path, reason: reason(path, errno)) }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw DataError.unreadable(path, reason: (info.st_mode & S_IFMT) == S_IFDIR ? "a directory, not a file" : "not a regular file")
    }
    var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
    var filled = 0
    while filled < bytes.count {
      let n = bytes.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + filled, $0.count - filled) }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else { throw DataError.unreadable(path, reason: reason(path, errno)) }
      if n == 0 { break }  // the file shrank while being read
      filled += n
    }
    return filled == bytes.count ? bytes : Array(bytes[..<filled])
  }

  /// Why opening `path` failed, in words: `ENOENT` on an existing link means it dangles.
  public static func reason(_ path: String, _ code: Int32) -> String {
    switch code {
    case ELOOP: return "symbolic link loop"
    case ENOENT where entryExists(path):
      let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
      return "dangling symbolic link to \(target)"
    case ENOENT: return "no such file"
    default: return String(cString: strerror(code)).lowercased()
    }
  }
}

#if canImport(Glibc)
  private let systemRead = Glibc.read
#elseif canImport(Darwin)
  private let systemRead = Darwin.read
#endif
