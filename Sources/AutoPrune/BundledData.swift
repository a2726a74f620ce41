import AutoPruneNN
import Foundation

/// The Fashion-MNIST subset shipped inside the package (2,000 train / 500 test images, the
/// first records of Debian's `dataset-fashion-mnist`), so `demo` and tests need nothing
/// installed.
public enum BundledData {
  static let folder = "fashion-mnist-subset"
  static let bundleName = "AutoPrune_AutoPrune.resources"

  /// Directory holding the subset, or nil when the resource bundle was not installed beside
  /// the executable. (SwiftPM's `Bundle.module` would stop the process instead.)
  public static var directory: String? {
    var candidates: [URL] = []
    let executableDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    candidates.append(executableDirectory.appendingPathComponent(bundleName))
    candidates.append(Bundle.main.bundleURL.appendingPathComponent(bundleName))
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(bundleName))
    // Running from a checkout: the source copy next to this file.
    candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources"))
    for base in candidates {
      let dir = base.appendingPathComponent(folder).path
      if MNISTFormat.isPresent(in: dir) { return dir }
    }
    return nil
  }

  /// Debian's full Fashion-MNIST location.
  public static let systemFashionMNIST = "/usr/share/datasets/fashion-mnist"
}
