import ArgumentParser
import Foundation

/// A runtime failure (a file, the data or the machine, not the command line): one line on
/// stderr and exit status 1. Mistakes in the command line are `ValidationError`s (status 64).
struct Failure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

enum ErrorText {
  /// One line in the tool's own words. Foundation's file errors ("The operation could not be
  /// completed. (NSCocoaErrorDomain error 256.)") become `PATH: reason`, with the reason taken
  /// from the underlying POSIX error when there is one.
  static func line(for error: Error) -> String {
    if let fileText = foundationFileError(error) { return fileText }
    let text = AutoPruneCommand.message(for: error)
    return text.split(separator: "\n").first.map(String.init) ?? text
  }

  private static func foundationFileError(_ error: Error) -> String? {
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return nil }
    let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    var reason: String
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
      reason = String(cString: strerror(Int32(underlying.code))).lowercased()
    } else if ns.domain == NSPOSIXErrorDomain {
      reason = String(cString: strerror(Int32(ns.code))).lowercased()
    } else {
      switch ns.code {
      case NSFileNoSuchFileError, NSFileReadNoSuchFileError: reason = "no such file or directory"
      case NSFileWriteFileExistsError: reason = "something is already there"
      case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: reason = "permission denied"
      case NSFileWriteOutOfSpaceError: reason = "no space left on the device"
      case NSFileWriteVolumeReadOnlyError: reason = "read-only file system"
      case NSFileReadCorruptFileError: reason = "unreadable contents"
      default: reason = path.flatMap(inspect) ?? "file operation failed (\(ns.domain) \(ns.code))"
      }
    }
    return path.map { "\($0): \(reason)" } ?? reason
  }

  /// Why a path could not be made, when Foundation does not say: the nearest existing ancestor
  /// is a file, or is not writable.
  private static func inspect(_ path: String) -> String? {
    var ancestor = URL(fileURLWithPath: path).deletingLastPathComponent()
    while ancestor.path != "/" && !FileManager.default.fileExists(atPath: ancestor.path) { ancestor = ancestor.deletingLastPathComponent() }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) else { return nil }
    if !isDirectory.boolValue { return "\(ancestor.path) is a file, not a directory" }
    if access(ancestor.path, W_OK | X_OK) != 0 { return "\(ancestor.path) is not writable" }
    return nil
  }
}
