import AutoPruneONNX
import Foundation
import FuzzSupport

// ONNX models as `autoprune import` reads them: the protobuf decoded, the graph checked (one
// writer per tensor, no cycle, known operators, constants whose bytes match their dims), its
// shape followed (residual blocks) and its layers built with their weights.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(bytes: data, count: size)
  return Scratch.expectingErrors {
    _ = try ONNXImport.model(from: bytes, name: "fuzz")
  }
}
