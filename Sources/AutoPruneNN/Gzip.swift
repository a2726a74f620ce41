import CZlib
import Foundation

/// gzip decompression through the system zlib.
public enum Gzip {
  /// True when `data` starts with the gzip magic bytes 1f 8b.
  public static func isCompressed(_ data: [UInt8]) -> Bool {
    data.count >= 2 && data[0] == 0x1f && data[1] == 0x8b
  }

  /// Largest decompressed size accepted when the caller knows no better bound.
  public static let maximumOutput = 4 << 30

  /// Deflate's largest expansion: one input byte never becomes more than about 1,032 bytes,
  /// so a size declared beyond `input.count × maximumRatio` cannot be what the stream holds.
  public static let maximumRatio = 1_032

  /// Inflates a whole gzip stream; `path` only names the file in errors. More than `limit`
  /// bytes is an error, found before anything past the limit is allocated.
  public static func decompress(_ input: [UInt8], path: String, limit: Int = maximumOutput) throws -> [UInt8] {
    try inflate(input, path: path, limit: limit, stopAfter: nil)
  }

  /// The first `count` inflated bytes (fewer when the stream is shorter): enough to read a
  /// header that says how large the whole must be.
  public static func prefix(_ input: [UInt8], count: Int, path: String) throws -> [UInt8] {
    try inflate(input, path: path, limit: count, stopAfter: count)
  }

  private static func inflate(_ input: [UInt8], path: String, limit: Int, stopAfter: Int?) throws -> [UInt8] {
    var stream = z_stream()
    // 16 + MAX_WBITS: expect a gzip header and trailer (and check the CRC).
    guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw DataError.corruptGzip(path, reason: "zlib could not start")
    }
    defer { inflateEnd(&stream) }
    // One byte of room past the limit tells "exactly the limit" from "more than it".
    let capacity = limit == Int.max ? limit : limit + 1
    var output = [UInt8](repeating: 0, count: min(capacity, max(1 << 16, input.count.multipliedReportingOverflow(by: 4).partialValue)))
    var produced = 0
    var status: Int32 = Z_OK
    try input.withUnsafeBufferPointer { inBuf in
      stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
      stream.avail_in = UInt32(inBuf.count)
      while status != Z_STREAM_END {
        if let stopAfter, produced >= stopAfter { break }
        if produced > limit { throw DataError.inflatesBeyond(path, limit: limit) }
        if produced == output.count {
          output.append(contentsOf: repeatElement(0, count: min(output.count, capacity - output.count)))
        }
        let room = min(output.count - produced, Int(UInt32.max))
        status = output.withUnsafeMutableBufferPointer { outBuf in
          stream.next_out = outBuf.baseAddress! + produced
          stream.avail_out = UInt32(room)
          let s = zlibInflate(&stream, Z_NO_FLUSH)
          produced += room - Int(stream.avail_out)
          return s
        }
        switch status {
        case Z_OK, Z_STREAM_END:
          continue
        case Z_BUF_ERROR where stream.avail_in == 0:
          throw DataError.truncatedGzip(path)
        case Z_BUF_ERROR:
          continue
        default:
          let reason = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
          throw DataError.corruptGzip(path, reason: reason)
        }
      }
    }
    if produced > limit && stopAfter == nil { throw DataError.inflatesBeyond(path, limit: limit) }
    output.removeSubrange(min(produced, stopAfter ?? produced)...)
    return output
  }
}

/// zlib's `inflate`, named apart from `Gzip.inflate`.
@inline(__always)
private func zlibInflate(_ stream: UnsafeMutablePointer<z_stream>, _ flush: Int32) -> Int32 { inflate(stream, flush) }
