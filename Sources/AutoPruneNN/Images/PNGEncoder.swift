import CZlib

/// Writes 8-bit grey or RGB PNG files (for image-folder copies of a data set and test fixtures).
public enum PNGEncoder {
  /// PNG bytes of `image`: one IDAT, every row filtered with Sub (small files for photographs
  /// and drawings alike), zlib level 6.
  public static func encode(_ image: DecodedImage) -> [UInt8] {
    let rowBytes = image.width * image.channels
    var filtered = [UInt8](repeating: 0, count: image.height * (rowBytes + 1))
    for y in 0..<image.height {
      let base = y * (rowBytes + 1), source = y * rowBytes
      filtered[base] = 1
      for i in 0..<rowBytes {
        let left = i >= image.channels ? image.pixels[source + i - image.channels] : 0
        filtered[base + 1 + i] = image.pixels[source + i] &- left
      }
    }
    var bound = compressBound(uLong(filtered.count))
    var compressed = [UInt8](repeating: 0, count: Int(bound))
    let status = compressed.withUnsafeMutableBufferPointer { c in
      filtered.withUnsafeBufferPointer { f in compress2(c.baseAddress!, &bound, f.baseAddress!, uLong(f.count), 6) }
    }
    precondition(status == Z_OK, "zlib compress2 failed (\(status)) with a buffer of compressBound's size")
    compressed.removeSubrange(Int(bound)...)
    var header: [UInt8] = []
    append32(UInt32(image.width), to: &header)
    append32(UInt32(image.height), to: &header)
    header += [8, image.channels == 1 ? 0 : 2, 0, 0, 0]
    var out = PNGDecoder.signature
    chunk("IHDR", header, to: &out)
    chunk("IDAT", compressed, to: &out)
    chunk("IEND", [], to: &out)
    return out
  }

  static func append32(_ v: UInt32, to bytes: inout [UInt8]) {
    bytes += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
  }

  static func chunk(_ type: String, _ body: [UInt8], to out: inout [UInt8]) {
    append32(UInt32(body.count), to: &out)
    let typed = Array(type.utf8) + body
    out += typed
    let crc = typed.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress!, UInt32($0.count))) }
    append32(crc, to: &out)
  }
}
