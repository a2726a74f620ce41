import AutoPrune
import FuzzSupport

// safetensors weights files: `SafeTensors.decode` on the bytes, then the file as
// `eval`/`export`/`prune --weights` load it, `WeightsFile.loadModel`, which builds the model its
// metadata names and checks every tensor and the normalisation against it.

private let file = Scratch.path("model.safetensors")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Scratch.bytes(data, size)
  return Scratch.expectingErrors {
    _ = try SafeTensors.decode(bytes, path: "fuzz")
    Scratch.write(bytes, to: file)
    _ = try WeightsFile.loadModel(path: file, kind: nil)
  }
}
