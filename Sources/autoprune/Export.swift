import AutoPrune
import AutoPruneNN
import AutoPruneONNX
import ArgumentParser
import Foundation

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Export saved weights (dense or pruned, masks applied) as an ONNX model, optionally thinned.")

  @Option(help: "Weights file (.safetensors) from train or prune.")
  var weights: String

  @Option(help: "Model: \(ModelKind.names) (default: the model named in the weights file).")
  var model: ModelKind?

  @Option(help: "Where to write the ONNX model (opset 13).")
  var out: String?

  @Option(name: .customLong("onnx"), help: .hidden)
  var onnxAlias: String?

  /// `--out` (or its old name `--onnx`).
  var onnx: String { out ?? onnxAlias ?? "" }

  @Flag(help: "Export the thinned network: dead neurons and filters removed.")
  var thin = false

  func validate() throws {
    guard try either(out, onnxAlias, "--out", old: "--onnx") != nil else { throw ValidationError("give --out MODEL.onnx") }
    try Output.checkWritableDestination(onnx, flag: "--out", inputs: [("--weights", weights)])
  }

  func run() throws {
    guard let (net, stored) = try WeightsFile.loadModel(path: weights, kind: model) else {
      throw ValidationError("\(weights) does not name its model; pass --model (\(ModelKind.names))")
    }
    let normalization = stored ?? Normalization(mean: 0, std: 1)
    let description = try ONNXExport.write(net, normalization: normalization, thin: thin, to: onnx)
    let bytes = (try? FileManager.default.attributesOfItem(atPath: onnx)[.size] as? Int) ?? 0
    print("wrote \(onnx): \(description), opset \(ONNXExport.opset), \(bytes) bytes; input: normalised images (mean \(normalization.mean), std \(normalization.std))")
  }
}
