import Foundation

/// A decoded picture: 8-bit samples, rows top to bottom, channels interleaved (`RGBRGB…` or
/// grey), as the codecs hand them over and the resampler reads them.
public struct DecodedImage: Equatable, Sendable {
  /// Columns.
  public let width: Int
  /// Rows.
  public let height: Int
  /// 1 (grey) or 3 (RGB).
  public let channels: Int
  /// `height × width × channels` samples, row-major, channels interleaved.
  public var pixels: [UInt8]

  /// Traps unless `pixels` holds exactly `height × width × channels` samples of 1 or 3 channels.
  public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
    precondition(channels == 1 || channels == 3, "grey or RGB images")
    precondition(width > 0 && height > 0 && pixels.count == width * height * channels, "pixel count does not match the size")
    self.width = width
    self.height = height
    self.channels = channels
    self.pixels = pixels
  }

  /// Largest side and area a decoder accepts: a header can declare any size, and the decoded
  /// buffer is allocated from it (ImageNet's largest images are about 5,000 × 4,000).
  public static let maximumSide = 16_384
  /// See `maximumSide`: 64 megapixels.
  public static let maximumPixels = 1 << 26

  /// The same picture with three channels (grey repeated), as a colour network takes it.
  public func rgb() -> DecodedImage {
    guard channels == 1 else { return self }
    var out = [UInt8](repeating: 0, count: pixels.count * 3)
    for (i, v) in pixels.enumerated() {
      out[3 * i] = v
      out[3 * i + 1] = v
      out[3 * i + 2] = v
    }
    return DecodedImage(width: width, height: height, channels: 3, pixels: out)
  }

  /// Throws unless a declared size is one a decoder may allocate.
  static func checkSize(width: Int, height: Int, path: String) throws {
    guard width > 0, height > 0 else { throw ImageError.corrupt(path, reason: "declares a \(width) × \(height) image") }
    guard width <= maximumSide, height <= maximumSide, width * height <= maximumPixels else {
      throw ImageError.unsupported(path, reason: "\(width) × \(height) pixels is above the limit of \(maximumSide) a side and \(maximumPixels >> 20) megapixels")
    }
  }
}

/// Why an image file could not be decoded; every message names the path.
public enum ImageError: Error, CustomStringConvertible, Equatable {
  /// The bytes are not a valid image of the format they claim.
  case corrupt(String, reason: String)
  /// A valid file of a kind the decoder does not read.
  case unsupported(String, reason: String)
  /// No decoder for it on this machine (libturbojpeg missing for a JPEG).
  case noDecoder(String, reason: String)

  public var description: String {
    switch self {
    case .corrupt(let path, let reason): return "\(path): corrupt image (\(reason))"
    case .unsupported(let path, let reason): return "\(path): unsupported image (\(reason))"
    case .noDecoder(let path, let reason): return "\(path): cannot decode (\(reason))"
    }
  }
}

/// Decodes an image file by its content (PNG signature or JPEG's SOI marker), not its name.
public enum ImageDecoder {
  /// The picture in `bytes`; `path` names it in errors.
  public static func decode(_ bytes: [UInt8], path: String) throws -> DecodedImage {
    if bytes.starts(with: PNGDecoder.signature) { return try PNGDecoder.decode(bytes, path: path) }
    if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
      guard let jpeg = TurboJPEG.shared else {
        throw ImageError.noDecoder(path, reason: "a JPEG, and libturbojpeg was not found: install Debian's libturbojpeg0 (scripts/install-deps.sh does)")
      }
      return try jpeg.decode(bytes, path: path)
    }
    if bytes.isEmpty { throw ImageError.corrupt(path, reason: "empty file") }
    let head = bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
    throw ImageError.unsupported(path, reason: "neither PNG nor JPEG (starts \(head))")
  }

  /// Reads and decodes the file at `path`.
  public static func decode(file path: String) throws -> DecodedImage {
    try decode(FileBytes.read(path), path: path)
  }
}
