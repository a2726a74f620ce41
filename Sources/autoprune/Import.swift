import AutoPrune
import AutoPruneNN
import AutoPruneONNX
import ArgumentParser
import Foundation

struct Import: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Import an ONNX image classifier as a weights file that carries its architecture.",
    discussion: """
      The file then works with train, prune, eval, export, bench and report without --model. \
      Operators read: \(ONNXImport.supportedOperators.joined(separator: ", ")) (residual Adds included); \
      anything else is refused naming the node. The preprocessing the model expects is stored: \
      its input is (image · input-scale − mean) / std, the image's pixels in [0, 1].
      """)

  @Argument(help: "The ONNX model (opset 7–21, weights as initializers).")
  var onnx: String

  @Option(help: "Where to write the weights (.safetensors).")
  var out: String

  @Option(help: "Model name recorded in the file (default: the ONNX file's name without extension).")
  var name: String?

  @Option(parsing: .unconditional, help: "Pixel scale the model expects: 1 for inputs in [0, 1], 255 for [0, 255].")
  var inputScale: Float = 1

  @Option(parsing: .unconditional, help: "Mean subtracted after scaling: one value or one per channel, comma-separated (torchvision: 0.485,0.456,0.406).")
  var mean: String?

  @Option(parsing: .unconditional, help: "Standard deviation divided by after the mean: one value or one per channel (torchvision: 0.229,0.224,0.225).")
  var std: String?

  @Option(help: "Per-sample image shape C,H,W, where the graph's input leaves it open or takes flat features.")
  var inputShape: String?

  func validate() throws {
    try Output.checkWritableDestination(out, flag: "--out", inputs: [("the ONNX model", onnx)])
    if let name, name.isEmpty || name.count > 200 || name.contains(where: { $0.isNewline || $0.unicodeScalars.contains { $0.properties.generalCategory == .control } }) {
      throw ValidationError("--name must be 1 to 200 characters on one line (got \(name.debugDescription))")
    }
    guard inputScale.isFinite && inputScale > 0 else { throw ValidationError("--input-scale must be positive (got \(inputScale))") }
    _ = try Import.numbers(mean, flag: "--mean", positive: false)
    _ = try Import.numbers(std, flag: "--std", positive: true)
    if let inputShape, Import.shape(inputShape) == nil { throw ValidationError("--input-shape must be C,H,W with positive sides (got \(inputShape))") }
  }

  /// Comma-separated finite numbers (positive ones where `positive`), nil when not given.
  static func numbers(_ text: String?, flag: String, positive: Bool) throws -> [Float]? {
    guard let text else { return nil }
    let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite && (!positive || $0! >= 1e-6) }) else {
      throw ValidationError("\(flag) must be one number or one per channel, comma-separated\(positive ? ", each positive" : "") (got \(text))")
    }
    return values.map { $0! }
  }

  static func shape(_ text: String) -> [Int]? {
    let sides = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard sides.count == 3, sides.allSatisfy({ $0 != nil && $0! > 0 && $0! <= 65_536 }) else { return nil }
    return sides.map { $0! }
  }

  func run() throws {
    let bytes: Data
    do {
      bytes = try Data(contentsOf: URL(fileURLWithPath: onnx))
    } catch {
      throw Failure("\(onnx): cannot be read (\(error.localizedDescription))")
    }
    let name = self.name ?? URL(fileURLWithPath: onnx).deletingPathExtension().lastPathComponent
    let imported: ONNXImport.Imported
    do {
      imported = try ONNXImport.model(
        from: bytes, name: name, inputShape: inputShape.flatMap(Import.shape), directory: URL(fileURLWithPath: onnx).deletingLastPathComponent())
    } catch let error as ONNXImportError {
      throw Failure("\(onnx): \(error)")
    }
    let model = imported.model
    let normalization = try self.normalization(channels: model.inputShape[0]) ?? imported.normalization
    for note in imported.notes { print("note: \(note)") }
    if normalization == nil {
      print("note: no --mean/--std/--input-scale given: the model will get images with pixels in [0, 1]")
    }
    try WeightsFile.save(model, normalization: normalization ?? Normalization(mean: 0, std: 1), to: out)
    let shape = model.inputShape.map(String.init).joined(separator: "×")
    print("wrote \(out): \(name), \(model.network.layers.count) layers, \(model.parameterCount) parameters, \(shape) images, \(model.classes) classes")
  }

  /// The normalisation the flags describe, in the tool's terms (pixels in [0, 1], minus the
  /// mean, over the std): (x · s − m) / σ = (x − m/s) / (σ/s). Nil when no flag is given.
  func normalization(channels: Int) throws -> Normalization? {
    guard mean != nil || std != nil || inputScale != 1 else { return nil }
    let means = try Import.numbers(mean, flag: "--mean", positive: false) ?? [0]
    let stds = try Import.numbers(std, flag: "--std", positive: true) ?? [1]
    for (flag, values) in [("--mean", means), ("--std", stds)] where values.count != 1 && values.count != channels {
      throw ValidationError("\(flag) gives \(values.count) values; the model takes \(channels) channel\(channels == 1 ? "" : "s")")
    }
    let scaledMeans = means.map { $0 / inputScale }, scaledStds = stds.map { $0 / inputScale }
    if scaledMeans.count == 1 && scaledStds.count == 1 { return Normalization(mean: scaledMeans[0], std: scaledStds[0]) }
    let n = max(scaledMeans.count, scaledStds.count)
    return Normalization(
      channelMeans: scaledMeans.count == 1 ? Array(repeating: scaledMeans[0], count: n) : scaledMeans,
      channelStds: scaledStds.count == 1 ? Array(repeating: scaledStds[0], count: n) : scaledStds)
  }
}
