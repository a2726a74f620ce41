/// Builds PNG files byte by byte, independently of the library's encoder: any colour type, bit
/// depth, row filter and Adam7 interlacing, with the image data in zlib *stored* blocks (no
/// compressor needed), so the decoder is checked against the specification, not against itself.
struct PNGFixture {
  var width: Int, height: Int, bitDepth: Int, colorType: Int
  var interlaced = false
  /// Filter of each row (cycled); 0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth.
  var filters: [UInt8] = [0]
  var palette: [UInt8] = []
  /// Samples per pixel in the file, row-major, each in 0..<(1 << bitDepth).
  var samples: [Int]

  var samplesPerPixel: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colorType]! }

  static func crc(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
      c ^= UInt32(b)
      for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return ~c
  }

  static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

  static func chunk(_ type: String, _ body: [UInt8], corruptCRC: Bool = false) -> [UInt8] {
    let typed = Array(type.utf8) + body
    return be32(UInt32(body.count)) + typed + be32(crc(typed) ^ (corruptCRC ? 1 : 0))
  }

  /// zlib stream of stored (uncompressed) deflate blocks.
  static func zlibStored(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
      let n = min(65_535, data.count - offset)
      let last: UInt8 = offset + n == data.count ? 1 : 0
      out += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
      out += data[offset..<(offset + n)]
      offset += n
    } while offset < data.count
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in data {
      a = (a + UInt32(byte)) % 65_521
      b = (b + a) % 65_521
    }
    return out + be32(b << 16 | a)
  }

  /// One row of pixels `columns` (indices into the image) packed at the bit depth.
  func packRow(_ columns: [Int], y: Int) -> [UInt8] {
    var bits: [Int] = []
    for x in columns {
      for s in 0..<samplesPerPixel {
        let v = samples[(y * width + x) * samplesPerPixel + s]
        for k in stride(from: bitDepth - 1, through: 0, by: -1) { bits.append((v >> k) & 1) }
      }
    }
    while bits.count % 8 != 0 { bits.append(0) }
    return stride(from: 0, to: bits.count, by: 8).map { i in UInt8(bits[i..<(i + 8)].reduce(0) { $0 << 1 | $1 }) }
  }

  static func filter(_ row: [UInt8], previous: [UInt8], type: UInt8, stride: Int) -> [UInt8] {
    row.indices.map { i in
      let a = i >= stride ? Int(row[i - stride]) : 0, b = Int(previous[i]), c = i >= stride ? Int(previous[i - stride]) : 0
      let predictor: Int
      switch type {
      case 1: predictor = a
      case 2: predictor = b
      case 3: predictor = (a + b) / 2
      case 4:
        let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
      default: predictor = 0
      }
      return UInt8((Int(row[i]) - predictor) & 0xFF)
    }
  }

  /// The filtered image data (every pass's rows with their filter bytes).
  func filtered() -> [UInt8] {
    let passes: [(Int, Int, Int, Int)] = interlaced
      ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)] : [(0, 0, 1, 1)]
    let stride = max(1, samplesPerPixel * bitDepth / 8)
    var out: [UInt8] = []
    var rowIndex = 0
    for (x0, y0, dx, dy) in passes {
      let columns = Array(Swift.stride(from: x0, to: width, by: dx))
      if columns.isEmpty { continue }
      var previous: [UInt8]? = nil
      for y in Swift.stride(from: y0, to: height, by: dy) {
        let row = packRow(columns, y: y)
        let type = filters[rowIndex % filters.count]
        rowIndex += 1
        out.append(type)
        out += PNGFixture.filter(row, previous: previous ?? [UInt8](repeating: 0, count: row.count), type: type, stride: stride)
        previous = row
      }
    }
    return out
  }

  /// The whole file; `mutate` may change the image data before it is stored.
  func bytes(mutate: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
    var header = PNGFixture.be32(UInt32(width)) + PNGFixture.be32(UInt32(height))
    header += [UInt8(bitDepth), UInt8(colorType), 0, 0, interlaced ? 1 : 0]
    var data = filtered()
    mutate(&data)
    var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + PNGFixture.chunk("IHDR", header)
    if !palette.isEmpty { file += PNGFixture.chunk("PLTE", palette) }
    file += PNGFixture.chunk("tEXt", Array("Comment\u{0}fixture".utf8))
    let stream = PNGFixture.zlibStored(data)
    // Two IDAT chunks: the decoder must join them.
    let half = stream.count / 2
    file += PNGFixture.chunk("IDAT", Array(stream[..<half])) + PNGFixture.chunk("IDAT", Array(stream[half...]))
    return file + PNGFixture.chunk("IEND", [])
  }
}
