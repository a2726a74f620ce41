import CZlib

/// A PNG reader of our own on zlib (which the build links already): every colour type and bit
/// depth of the specification, Adam7 interlacing, CRCs checked. Alpha and `tRNS` are dropped and
/// 16-bit samples keep their high byte, as `PIL.Image.convert("RGB")` gives a network.
public enum PNGDecoder {
  /// The eight bytes every PNG file starts with.
  public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

  /// The header fields that decide how the pixel bytes are laid out.
  struct Header {
    var width: Int, height: Int, bitDepth: Int, colorType: Int, interlaced: Bool

    /// Samples per pixel in the file (grey 1, RGB 3, palette 1, grey+alpha 2, RGBA 4).
    var samples: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType]! }
    /// Bytes per complete pixel for filtering (at least 1, per the specification).
    var filterStride: Int { max(1, samples * bitDepth / 8) }
    /// Bytes of one filtered row of `columns` pixels, filter byte excluded.
    func rowBytes(_ columns: Int) -> Int { (columns * samples * bitDepth + 7) / 8 }
  }

  /// Adam7's passes: first column, first row, column step, row step.
  static let adam7: [(x: Int, y: Int, dx: Int, dy: Int)] = [
    (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2),
  ]

  /// The picture in `bytes` (grey or RGB); `path` names it in errors.
  public static func decode(_ bytes: [UInt8], path: String) throws -> DecodedImage {
    guard bytes.starts(with: signature) else { throw ImageError.corrupt(path, reason: "no PNG signature") }
    var header: Header?
    var palette: [UInt8] = []
    var compressed: [UInt8] = []
    var offset = signature.count
    var ended = false
    while !ended {
      guard offset + 12 <= bytes.count else { throw ImageError.corrupt(path, reason: "truncated before IEND") }
      let length = Int(bigEndian32(bytes, offset))
      guard length <= bytes.count - offset - 12 else { throw ImageError.corrupt(path, reason: "a chunk runs past the end of the file") }
      let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
      let body = (offset + 8)..<(offset + 8 + length)
      let stored = bigEndian32(bytes, body.upperBound)
      let computed = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress! + offset + 4, UInt32(length + 4))) }
      guard stored == computed else { throw ImageError.corrupt(path, reason: "CRC mismatch in a \(type) chunk") }
      switch type {
      case "IHDR":
        guard header == nil, length == 13 else { throw ImageError.corrupt(path, reason: "bad IHDR chunk") }
        header = try parseHeader(bytes, at: body.lowerBound, path: path)
      case "PLTE":
        guard length % 3 == 0, length <= 768 else { throw ImageError.corrupt(path, reason: "palette of \(length) bytes") }
        palette = Array(bytes[body])
      case "IDAT":
        guard header != nil else { throw ImageError.corrupt(path, reason: "IDAT before IHDR") }
        compressed += bytes[body]
      case "IEND":
        ended = true
      default:
        // An unknown critical chunk (upper-case first letter) changes how the image reads.
        if let first = type.utf8.first, first >= 65, first <= 90 {
          throw ImageError.unsupported(path, reason: "critical chunk \(type)")
        }
      }
      offset = body.upperBound + 4
    }
    guard let header else { throw ImageError.corrupt(path, reason: "no IHDR chunk") }
    if header.colorType == 3 && palette.isEmpty { throw ImageError.corrupt(path, reason: "palette image without PLTE") }
    let raw = try inflate(compressed, expected: filteredSize(header), path: path)
    return try reconstruct(raw, header: header, palette: palette, path: path)
  }

  static func bigEndian32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
  }

  static func parseHeader(_ b: [UInt8], at i: Int, path: String) throws -> Header {
    let width = Int(bigEndian32(b, i)), height = Int(bigEndian32(b, i + 4))
    try DecodedImage.checkSize(width: width, height: height, path: path)
    let depth = Int(b[i + 8]), color = Int(b[i + 9])
    let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
    guard let depths = allowed[color], depths.contains(depth) else {
      throw ImageError.corrupt(path, reason: "colour type \(color) with bit depth \(depth)")
    }
    guard b[i + 10] == 0, b[i + 11] == 0, b[i + 12] <= 1 else {
      throw ImageError.corrupt(path, reason: "unknown compression, filter or interlace method")
    }
    return Header(width: width, height: height, bitDepth: depth, colorType: color, interlaced: b[i + 12] == 1)
  }

  /// The sizes of Adam7's sub-images (one pass, the whole image, when not interlaced).
  static func passes(_ h: Header) -> [(columns: Int, rows: Int, pass: (x: Int, y: Int, dx: Int, dy: Int))] {
    let list = h.interlaced ? adam7 : [(0, 0, 1, 1)]
    return list.map { p in
      ((h.width - p.x + p.dx - 1) / p.dx, (h.height - p.y + p.dy - 1) / p.dy, p)
    }.filter { $0.columns > 0 && $0.rows > 0 }
  }

  /// Filtered bytes the image data inflates to: each row of each pass with its filter byte.
  static func filteredSize(_ h: Header) -> Int {
    passes(h).reduce(0) { $0 + $1.rows * (1 + h.rowBytes($1.columns)) }
  }

  /// zlib's inflate into a buffer of exactly `expected` bytes: a stream that is shorter, longer
  /// or damaged is an error, and nothing is allocated beyond what the header declares.
  static func inflate(_ input: [UInt8], expected: Int, path: String) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: expected)
    var length = uLongf(expected)
    let status = out.withUnsafeMutableBufferPointer { o in
      input.withUnsafeBufferPointer { i in uncompress(o.baseAddress!, &length, i.baseAddress ?? UnsafePointer(o.baseAddress!), uLong(input.count)) }
    }
    switch status {
    case Z_OK where Int(length) == expected: return out
    case Z_OK: throw ImageError.corrupt(path, reason: "image data holds \(length) of \(expected) bytes")
    case Z_BUF_ERROR where input.isEmpty: throw ImageError.corrupt(path, reason: "no image data")
    case Z_BUF_ERROR: throw ImageError.corrupt(path, reason: "image data truncated or longer than the header declares")
    default: throw ImageError.corrupt(path, reason: "image data does not inflate (zlib error \(status))")
    }
  }

  /// Undoes the row filters of every pass and converts to 8-bit grey or RGB.
  static func reconstruct(_ raw: [UInt8], header h: Header, palette: [UInt8], path: String) throws -> DecodedImage {
    let grey = h.colorType == 0 || h.colorType == 4
    let channels = grey ? 1 : 3
    var pixels = [UInt8](repeating: 0, count: h.width * h.height * channels)
    var offset = 0
    let stride = h.filterStride
    for (columns, rows, pass) in passes(h) {
      let rowBytes = h.rowBytes(columns)
      var previous = [UInt8](repeating: 0, count: rowBytes)
      var current = previous
      for r in 0..<rows {
        let filter = raw[offset]
        for i in 0..<rowBytes { current[i] = raw[offset + 1 + i] }
        offset += 1 + rowBytes
        try unfilter(&current, previous: previous, filter: filter, stride: stride, path: path)
        let y = pass.y + r * pass.dy
        for c in 0..<columns {
          let x = pass.x + c * pass.dx
          let out = (y * h.width + x) * channels
          try writePixel(current, column: c, header: h, palette: palette, to: &pixels, at: out, path: path)
        }
        swap(&previous, &current)
      }
    }
    return DecodedImage(width: h.width, height: h.height, channels: channels, pixels: pixels)
  }

  /// PNG's five filters, in place on one row (`previous` is the row above, zeros for the first).
  static func unfilter(_ row: inout [UInt8], previous: [UInt8], filter: UInt8, stride: Int, path: String) throws {
    let n = row.count
    switch filter {
    case 0: break
    case 1: for i in stride..<max(stride, n) { row[i] = row[i] &+ row[i - stride] }
    case 2: for i in 0..<n { row[i] = row[i] &+ previous[i] }
    case 3:
      for i in 0..<n {
        let left = i >= stride ? Int(row[i - stride]) : 0
        row[i] = row[i] &+ UInt8((left + Int(previous[i])) / 2)
      }
    case 4:
      for i in 0..<n {
        let a = i >= stride ? Int(row[i - stride]) : 0, b = Int(previous[i]), c = i >= stride ? Int(previous[i - stride]) : 0
        let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        row[i] = row[i] &+ UInt8(pa <= pb && pa <= pc ? a : pb <= pc ? b : c)
      }
    default: throw ImageError.corrupt(path, reason: "unknown row filter \(filter)")
    }
  }

  /// Sample `s` of pixel `column` in an unfiltered row, scaled to 8 bits (high byte of 16-bit
  /// samples, sub-byte grey stretched to 0…255; palette indices left as they are).
  @inline(__always)
  static func sample(_ row: [UInt8], column: Int, _ s: Int, header h: Header) -> Int {
    let index = column * h.samples + s
    switch h.bitDepth {
    case 8: return Int(row[index])
    case 16: return Int(row[2 * index])
    default:
      let bit = index * h.bitDepth
      let value = Int(row[bit / 8] >> UInt8(8 - h.bitDepth - bit % 8)) & ((1 << h.bitDepth) - 1)
      return h.colorType == 3 ? value : value * 255 / ((1 << h.bitDepth) - 1)
    }
  }

  static func writePixel(
    _ row: [UInt8], column c: Int, header h: Header, palette: [UInt8], to pixels: inout [UInt8], at out: Int, path: String
  ) throws {
    switch h.colorType {
    case 0, 4: pixels[out] = UInt8(sample(row, column: c, 0, header: h))
    case 3:
      let entry = sample(row, column: c, 0, header: h) * 3
      guard entry + 2 < palette.count else { throw ImageError.corrupt(path, reason: "palette index \(entry / 3) beyond a \(palette.count / 3)-colour palette") }
      pixels[out] = palette[entry]
      pixels[out + 1] = palette[entry + 1]
      pixels[out + 2] = palette[entry + 2]
    default:
      for s in 0..<3 { pixels[out + s] = UInt8(sample(row, column: c, s, header: h)) }
    }
  }
}
