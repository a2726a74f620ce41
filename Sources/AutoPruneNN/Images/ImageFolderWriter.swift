import AutoPruneKernels
import Synchronization
import Foundation

/// Writes an in-memory set (Fashion-MNIST, CIFAR-10) as an image folder (`train/CLASS/N.png`,
/// `val/CLASS/N.jpg`): the layout ImageNet uses, for tests and timings of the file pipeline.
public enum ImageFolderWriter {
  /// The file format of the written images.
  public enum Format: String, CaseIterable, Sendable {
    /// Lossless, by our encoder.
    case png
    /// Through libturbojpeg at the quality given, no chroma subsampling.
    case jpeg
    /// Alternates JPEG and PNG, image by image (both decoders in one folder).
    case mixed

    func encodesJPEG(_ index: Int) -> Bool { self == .jpeg || (self == .mixed && index % 2 == 0) }
  }

  /// Class folder names: the label, zero-padded so that sorted names keep label order.
  public static func className(_ label: Int, classes: Int) -> String {
    let digits = String(max(0, classes - 1)).count
    return String(repeating: "0", count: max(0, digits - String(label).count)) + String(label)
  }

  /// Writes `train` and `validation` under `root`, every image resized (antialiased bilinear)
  /// to `size × size` and given 3 channels; JPEGs at `quality`. Returns the files written.
  @discardableResult
  public static func write(
    train: ImageDataset, validation: ImageDataset, to root: String, size: Int, format: Format, quality: Int = 95,
    onProgress: (@Sendable (Int) -> Void)? = nil
  ) throws -> Int {
    if format != .png && TurboJPEG.shared == nil {
      throw ImageError.noDecoder(root, reason: "writing JPEG needs libturbojpeg (Debian libturbojpeg0); use the PNG format")
    }
    var written = 0
    for (split, data) in [("train", train), ("val", validation)] {
      let directory = (root as NSString).appendingPathComponent(split)
      // Folders only for classes with images: an empty class folder is no valid image folder.
      for label in Set(data.labels).sorted() {
        try FileManager.default.createDirectory(
          atPath: (directory as NSString).appendingPathComponent(className(label, classes: data.classes)), withIntermediateDirectories: true)
      }
      try writeSplit(data, to: directory, size: size, format: format, quality: quality, done: written, onProgress: onProgress)
      written += data.count
    }
    return written
  }

  static func writeSplit(
    _ data: ImageDataset, to directory: String, size: Int, format: Format, quality: Int, done: Int, onProgress: (@Sendable (Int) -> Void)?
  ) throws {
    let failure = Mutex<(any Error)?>(nil)
    let workers = max(1, min(Parallel.threads, data.count))
    let digits = String(max(0, data.count - 1)).count
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      var planar = [UInt8](repeating: 0, count: 3 * size * size)
      for index in stride(from: worker, to: data.count, by: workers) {
        do {
          let image = source(data, index)
          planar.withUnsafeMutableBufferPointer {
            ImageResampler.resample(image, box: .init(x: 0, y: 0, width: Double(image.width), height: Double(image.height)), width: size, height: size, into: $0.baseAddress!)
          }
          let interleaved = DecodedImage(width: size, height: size, channels: 3, pixels: interleave(planar, channels: 3, plane: size * size))
          let jpeg = format.encodesJPEG(index)
          let bytes = try jpeg ? TurboJPEG.shared!.encode(interleaved, quality: quality) : PNGEncoder.encode(interleaved)
          let number = String(repeating: "0", count: max(0, digits - String(index).count)) + String(index)
          let path = "\(directory)/\(className(data.labels[index], classes: data.classes))/\(number).\(jpeg ? "jpg" : "png")"
          try Data(bytes).write(to: URL(fileURLWithPath: path))
          if worker == 0, index % 1000 == 0 { onProgress?(done + index) }
        } catch {
          failure.withLock { if $0 == nil { $0 = error } }
          return
        }
      }
    }
    if let error = failure.withLock({ $0 }) { throw error }
  }

  /// Image `index` of `data` as an interleaved picture, grey repeated into three channels.
  static func source(_ data: ImageDataset, _ index: Int) -> DecodedImage {
    let plane = data.height * data.width
    let base = index * data.imageSize
    let planar = Array(data.pixels[base..<(base + data.imageSize)])
    let image = DecodedImage(width: data.width, height: data.height, channels: data.channels == 1 ? 1 : 3,
                             pixels: data.channels == 1 ? planar : interleave(Array(planar[0..<(3 * plane)]), channels: 3, plane: plane))
    return image.rgb()
  }

  /// Planar `[C, plane]` bytes to interleaved `[plane, C]`.
  static func interleave(_ planar: [UInt8], channels: Int, plane: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: planar.count)
    for c in 0..<channels {
      for i in 0..<plane { out[i * channels + c] = planar[c * plane + i] }
    }
    return out
  }
}
