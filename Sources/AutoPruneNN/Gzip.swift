import CZlib
import Foundation

/// gzip decompression through the system zlib.
public enum Gzip {
  /// True when `data` starts with the gzip magic bytes 1f 8b.
  public static func isCompressed(_ data: [UInt8]) -> Bool {
    data.count >= 2 && data[0] == 0x1f && data[1] == 0x8b
  }

  /// Largest decompressed size accepted (a hostile stream can expand ~1000×).
  public static let maximumOutput = 4 << 30

  /// Inflates a whole gzip stream; `path` only names the file in errors.
  public static func decompress(_ input: [UInt8], path: String, limit: Int = maximumOutput) throws -> [UInt8] {
    var stream = z_stream()
    // 16 + MAX_WBITS: expect a gzip header and trailer (and check the CRC).
    guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw DataError.corruptGzip(path, reason: "zlib could not start")
    }
    defer { inflateEnd(&stream) }
    var output = [UInt8](repeating: 0, count: max(1 << 16, input.count * 4))
    var produced = 0
    var status: Int32 = Z_OK
    try input.withUnsafeBufferPointer { inBuf in
      stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
      stream.avail_in = UInt32(inBuf.count)
      while status != Z_STREAM_END {
        if produced == output.count {
          guard output.count < limit else {
            throw DataError.corruptGzip(path, reason: "expands beyond \(limit >> 20) MiB")
          }
          output.append(contentsOf: repeatElement(0, count: min(output.count, limit - output.count)))
        }
        let room = min(output.count - produced, Int(UInt32.max))
        status = output.withUnsafeMutableBufferPointer { outBuf in
          stream.next_out = outBuf.baseAddress! + produced
          stream.avail_out = UInt32(room)
          let s = inflate(&stream, Z_NO_FLUSH)
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
    output.removeSubrange(produced...)
    return output
  }
}
