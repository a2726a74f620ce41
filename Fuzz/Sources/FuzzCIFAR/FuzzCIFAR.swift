import AutoPruneNN
import FuzzSupport

// CIFAR-10 binary batches (3,073-byte records, plain or gzip) through `CIFAR10Format.load`: the
// input is `data_batch_1.bin`; the four other training batches and the test batch hold one
// valid record each, written once.

private let directory = Scratch.path("cifar-10-batches-bin")
private let fuzzed = directory + "/" + CIFAR10Format.trainFiles[0]

private let prepared: Void = {
  var record = [UInt8](repeating: 7, count: CIFAR10Format.recordSize)
  record[0] = 3
  for name in CIFAR10Format.trainFiles.dropFirst() + [CIFAR10Format.testFile] {
    Scratch.write(record, to: directory + "/" + name)
  }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  prepared
  let bytes = Scratch.bytes(data, size)
  return Scratch.expectingErrors {
    Scratch.write(bytes, to: fuzzed)
    _ = try CIFAR10Format.load(directory: directory)
  }
}
