import AutoPruneNN
import FuzzSupport

// Image files of an image folder: the bytes go through `ImageDecoder.decode`, the decoder
// `--data FOLDER` uses (our PNG reader; JPEG through libturbojpeg where it is installed), and a
// decoded picture through both transforms (random-resized crop and centre crop) to 16 × 16.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Scratch.bytes(data, size)
  return Scratch.expectingErrors {
    let image = try ImageDecoder.decode(bytes, path: "fuzz-input").rgb()
    var output = [UInt8](repeating: 0, count: 3 * 16 * 16)
    for training in [true, false] {
      let transform = ImageFolderTransform(size: 16, training: training)
      output.withUnsafeMutableBufferPointer { transform.apply(image, rng: RandomSource(seed: UInt64(size)), into: $0.baseAddress!) }
    }
  }
}
