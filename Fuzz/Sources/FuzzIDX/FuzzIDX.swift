import AutoPruneNN
import FuzzSupport

// IDX files, plain or gzip (MNIST, Fashion-MNIST, KMNIST). The bytes go through
// `IDXArray.read(path:)`, the reader `--data` uses: gzip detection, the declared-size bound, the
// inflate and the parse. An array that parses then goes through `MNISTFormat.load` as the images
// (3-D) or the labels (1-D) of a data directory whose other half is made to match.

private let directory = Scratch.path("mnist")
private let images = directory + "/" + MNISTFormat.trainImages
private let labels = directory + "/" + MNISTFormat.trainLabels
private let testImages = directory + "/" + MNISTFormat.testImages
private let testLabels = directory + "/" + MNISTFormat.testLabels
/// Most samples the made-up other half gets: it is the harness's allocation, not the reader's.
private let maximumMadeUp = 1 << 16

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Scratch.bytes(data, size)
  return Scratch.expectingErrors {
    Scratch.write(bytes, to: images)
    let array = try IDXArray.read(path: images)
    guard let count = array.shape.first, count <= maximumMadeUp else { return }
    let zeros = [UInt8](repeating: 0, count: count)
    let imageBytes: [UInt8], labelBytes: [UInt8]
    switch array.shape.count {
    case 3: (imageBytes, labelBytes) = (bytes, IDXArray(shape: [count], bytes: zeros).encoded())
    case 1: (imageBytes, labelBytes) = (IDXArray(shape: [count, 1, 1], bytes: zeros).encoded(), bytes)
    default: return
    }
    for (path, content) in [
      (images, imageBytes), (testImages, imageBytes), (labels, labelBytes), (testLabels, labelBytes),
    ] {
      Scratch.write(content, to: path)
    }
    _ = try MNISTFormat.load(directory: directory)
  }
}
