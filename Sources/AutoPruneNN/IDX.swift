import Foundation

/// An IDX array of unsigned bytes (the MNIST / Fashion-MNIST file format).
///
/// Layout: magic `00 00 08 D` (D = number of dimensions), D big-endian UInt32 sizes, then the
/// bytes in row-major order. Files may be gzip-compressed.
public struct IDXArray: Equatable, Sendable {
  /// Dimensions from the header: `[60000, 28, 28]` for MNIST's training images, `[60000]` for its labels.
  public let shape: [Int]
  /// The elements in row-major order, as many as the product of `shape`.
  public let bytes: [UInt8]

  /// An array to write with `encoded()` (fixtures, subsets); `bytes` is not checked against `shape`.
  public init(shape: [Int], bytes: [UInt8]) {
    self.shape = shape
    self.bytes = bytes
  }

  /// Reads and validates a file, decompressing it when it is gzip.
  public static func read(path: String) throws -> IDXArray {
    var raw = try FileBytes.read(path)
    if Gzip.isCompressed(raw) {
      // The header says how many bytes the stream must inflate to: inflate no more than that
      // (a few MB of gzip can expand to gigabytes), and refuse a declared size the stream
      // could not hold before allocating any of it.
      let head = try Gzip.prefix(raw, count: 4 + 4 * 4, path: path)
      let declared = try header(head, path: path)
      guard declared.product <= raw.count.multipliedReportingOverflow(by: Gzip.maximumRatio).partialValue else {
        throw DataError.declaredBeyondStream(path, declared: declared.product, compressed: raw.count)
      }
      raw = try Gzip.decompress(raw, path: path, limit: declared.size + declared.product)
    }
    return try parse(raw, path: path)
  }

  /// The header's shape, its size in bytes and the product of its dimensions (`Int.max` when
  /// that overflows). `raw` may hold just the start of a file.
  static func header(_ raw: [UInt8], path: String) throws -> (shape: [Int], size: Int, product: Int) {
    guard raw.count >= 4, raw[0] == 0, raw[1] == 0, (1...4).contains(raw[3]) else {
      let found = raw.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
      throw DataError.badMagic(path, found: found.isEmpty ? "missing" : found)
    }
    guard raw[2] == 0x08 else { throw DataError.unsupportedType(path, code: raw[2]) }
    let dims = Int(raw[3])
    let headerSize = 4 + 4 * dims
    guard raw.count >= headerSize else {
      throw DataError.sizeMismatch(path, expected: headerSize, actual: raw.count)
    }
    var shape: [Int] = []
    var product = 1
    for d in 0..<dims {
      let o = 4 + 4 * d
      let size = Int(raw[o]) << 24 | Int(raw[o + 1]) << 16 | Int(raw[o + 2]) << 8 | Int(raw[o + 3])
      shape.append(size)
      // Sizes are < 2^32 each; stop before the product could overflow.
      let (p, overflow) = product.multipliedReportingOverflow(by: size)
      product = overflow ? Int.max : p
    }
    return (shape, headerSize, product)
  }

  /// Parses the bytes of an (uncompressed) IDX file; `path` names it in errors.
  public static func parse(_ raw: [UInt8], path: String) throws -> IDXArray {
    let (shape, headerSize, product) = try header(raw, path: path)
    let available = raw.count - headerSize
    guard product == available else { throw DataError.sizeMismatch(path, expected: product, actual: available) }
    return IDXArray(shape: shape, bytes: Array(raw[headerSize...]))
  }

  /// The file's bytes (uncompressed), for writing test fixtures and subsets.
  public func encoded() -> [UInt8] {
    var out: [UInt8] = [0, 0, 0x08, UInt8(shape.count)]
    for s in shape { out += [UInt8(s >> 24 & 0xff), UInt8(s >> 16 & 0xff), UInt8(s >> 8 & 0xff), UInt8(s & 0xff)] }
    return out + bytes
  }
}
