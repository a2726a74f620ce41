#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// libjpeg-turbo's TurboJPEG API found at run time with `dlopen` (like OpenBLAS), so the tool
/// builds and runs without it and only JPEG files need it (Debian: `libturbojpeg0`).
public final class TurboJPEG: @unchecked Sendable {
  private typealias Initialize = @convention(c) () -> UnsafeMutableRawPointer?
  private typealias Destroy = @convention(c) (UnsafeMutableRawPointer?) -> Int32
  private typealias ReadHeader = @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, UInt, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?,
    UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?
  ) -> Int32
  private typealias Decompress = @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, UInt, UnsafeMutablePointer<UInt8>?, Int32, Int32, Int32, Int32, Int32
  ) -> Int32
  private typealias Compress = @convention(c) (
    UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int32, Int32, Int32, Int32,
    UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, UnsafeMutablePointer<UInt>?, Int32, Int32, Int32
  ) -> Int32
  private typealias Free = @convention(c) (UnsafeMutablePointer<UInt8>?) -> Void
  private typealias ErrorString = @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutablePointer<CChar>?

  // Values fixed by turbojpeg.h.
  private static let pixelRGB: Int32 = 0, pixelGrey: Int32 = 6, pixelCMYK: Int32 = 11
  private static let colourGrey: Int32 = 2, colourCMYK: Int32 = 3, colourYCCK: Int32 = 4
  private static let subsampling444: Int32 = 0, subsamplingGrey: Int32 = 3

  static let candidates = ["libturbojpeg.so.0", "libturbojpeg.so", "/usr/lib/x86_64-linux-gnu/libturbojpeg.so.0", "libturbojpeg.dylib"]

  /// The loaded library, or nil when no candidate has the TurboJPEG 2 API.
  public static let shared: TurboJPEG? = candidates.lazy.compactMap { TurboJPEG(path: $0) }.first

  /// Where the library was found.
  public let path: String
  private let initDecompress: Initialize, initCompress: Initialize, destroy: Destroy
  private let readHeader: ReadHeader, decompress: Decompress, compress: Compress, free: Free, errorString: ErrorString

  private init?(path: String) {
    guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else { return nil }
    func symbol<T>(_ name: String, _ type: T.Type) -> T? { dlsym(handle, name).map { unsafeBitCast($0, to: type) } }
    guard let initDecompress = symbol("tjInitDecompress", Initialize.self), let initCompress = symbol("tjInitCompress", Initialize.self),
      let destroy = symbol("tjDestroy", Destroy.self), let readHeader = symbol("tjDecompressHeader3", ReadHeader.self),
      let decompress = symbol("tjDecompress2", Decompress.self), let compress = symbol("tjCompress2", Compress.self),
      let free = symbol("tjFree", Free.self), let errorString = symbol("tjGetErrorStr2", ErrorString.self)
    else {
      dlclose(handle)
      return nil
    }
    self.path = path
    (self.initDecompress, self.initCompress, self.destroy) = (initDecompress, initCompress, destroy)
    (self.readHeader, self.decompress, self.compress, self.free, self.errorString) = (readHeader, decompress, compress, free, errorString)
  }

  private func message(_ handle: UnsafeMutableRawPointer?) -> String {
    errorString(handle).map { String(cString: $0) } ?? "unknown error"
  }

  /// The picture in JPEG `bytes`: grey for a one-component file, else RGB (CMYK and YCCK files,
  /// a few dozen in ImageNet, converted as Adobe writes them: inverted inks, R = C·K/255).
  /// Safe to call from many threads at once (each call has its own decoder).
  public func decode(_ bytes: [UInt8], path: String) throws -> DecodedImage {
    guard let handle = initDecompress() else { throw ImageError.noDecoder(path, reason: "tjInitDecompress failed") }
    defer { _ = destroy(handle) }
    var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colourSpace: Int32 = 0
    let headerStatus = bytes.withUnsafeBufferPointer { readHeader(handle, $0.baseAddress, UInt($0.count), &width, &height, &subsampling, &colourSpace) }
    guard headerStatus == 0 else { throw ImageError.corrupt(path, reason: message(handle)) }
    try DecodedImage.checkSize(width: Int(width), height: Int(height), path: path)
    let cmyk = colourSpace == TurboJPEG.colourCMYK || colourSpace == TurboJPEG.colourYCCK
    let grey = colourSpace == TurboJPEG.colourGrey
    let format = cmyk ? TurboJPEG.pixelCMYK : grey ? TurboJPEG.pixelGrey : TurboJPEG.pixelRGB
    let components = cmyk ? 4 : grey ? 1 : 3
    var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * components)
    let status = pixels.withUnsafeMutableBufferPointer { out in
      bytes.withUnsafeBufferPointer { decompress(handle, $0.baseAddress, UInt($0.count), out.baseAddress, width, 0, height, format, 0) }
    }
    // A warning (truncated data libjpeg filled in) still returns -1 in the 2.x API; a damaged
    // file is reported rather than trained on half grey.
    guard status == 0 else { throw ImageError.corrupt(path, reason: message(handle)) }
    if cmyk {
      var rgb = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
      for i in 0..<(Int(width) * Int(height)) {
        let k = Int(pixels[4 * i + 3])
        for c in 0..<3 { rgb[3 * i + c] = UInt8(Int(pixels[4 * i + c]) * k / 255) }
      }
      pixels = rgb
    }
    return DecodedImage(width: Int(width), height: Int(height), channels: cmyk ? 3 : components, pixels: pixels)
  }

  /// JPEG bytes of `image` at `quality` (1…100), without chroma subsampling.
  public func encode(_ image: DecodedImage, quality: Int = 95) throws -> [UInt8] {
    guard let handle = initCompress() else { throw ImageError.noDecoder("JPEG encoder", reason: "tjInitCompress failed") }
    defer { _ = destroy(handle) }
    var buffer: UnsafeMutablePointer<UInt8>?
    var size: UInt = 0
    let grey = image.channels == 1
    let status = image.pixels.withUnsafeBufferPointer {
      compress(
        handle, $0.baseAddress, Int32(image.width), 0, Int32(image.height), grey ? TurboJPEG.pixelGrey : TurboJPEG.pixelRGB,
        &buffer, &size, grey ? TurboJPEG.subsamplingGrey : TurboJPEG.subsampling444, Int32(min(100, max(1, quality))), 0)
    }
    defer { free(buffer) }
    guard status == 0, let buffer else { throw ImageError.noDecoder("JPEG encoder", reason: message(handle)) }
    return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
  }
}
