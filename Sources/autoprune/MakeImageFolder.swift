import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

struct MakeImageFolder: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "make-image-folder",
    abstract: "Write MNIST-format or CIFAR-10 data as an image folder (train/CLASS/N.jpg, val/CLASS/N.jpg), resized to --size, 3 channels.")

  @OptionGroup var dataOptions: DataOptions
  @OptionGroup var runOptions: RunOptions

  @Option(help: "Directory to create; must not exist yet.")
  var outDir: String

  @Option(help: "Side of the written images (default 64).")
  var size = 64

  @Option(help: "png, jpeg (default) or mixed (alternating; both decoders in one folder).")
  var format = "jpeg"

  @Option(help: "JPEG quality 1…100 (default 95).")
  var quality = 95

  @Option(help: "Write only the first N training and N/6 validation images (default: all).")
  var limit: Int?

  func validate() throws {
    guard ImageFolderWriter.Format(rawValue: format) != nil else { throw ValidationError("--format must be png, jpeg or mixed (got \(format))") }
    if !(8...1024).contains(size) { throw ValidationError("--size must be in 8…1024 (got \(size))") }
    if !(1...100).contains(quality) { throw ValidationError("--quality must be in 1…100 (got \(quality))") }
    if let limit, limit < 6 { throw ValidationError("--limit must be at least 6 (got \(limit))") }
    if FileBytes.entryExists(outDir) { throw ValidationError("--out-dir \(outDir) exists: choose a new directory") }
  }

  func run() throws {
    runOptions.apply()
    var (train, test, label) = try dataOptions.loadInMemory()
    if let limit { (train, test) = (train.prefix(limit), test.prefix(max(1, limit / 6))) }
    let start = DispatchTime.now()
    let total = train.count + test.count
    // Written into a temporary sibling and renamed at the end: a killed run leaves no
    // half-written folder that looks complete.
    let partial = outDir + ".partial-\(getpid())"
    do {
      try ImageFolderWriter.write(
        train: train, validation: test, to: partial, size: size, format: ImageFolderWriter.Format(rawValue: format)!, quality: quality
      ) { done in FileHandle.standardError.write(Data("\r\(done)/\(total) images".utf8)) }
      try FileManager.default.moveItem(atPath: partial, toPath: outDir)
    } catch {
      try? FileManager.default.removeItem(atPath: partial)
      throw error
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    FileHandle.standardError.write(Data("\r".utf8))
    print("wrote \(outDir): \(train.count) train and \(test.count) val images of \(label), \(size)×\(size) RGB \(format), \(train.classes) classes (\(String(format: "%.1f", seconds)) s)")
  }
}
