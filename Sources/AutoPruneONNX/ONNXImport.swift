import AutoPrune
import AutoPruneNN
import Foundation
import ONNXProto

/// Reads an ONNX image classifier into a `Model` of the library's layers, its initializers as
/// the weights, so it trains, prunes, thins and exports like a built-in network.
///
/// The graph must be a chain of the supported operators (`supportedOperators`) with residual
/// blocks (an `Add` of two paths from one tensor) nested in it; anything else is refused with
/// one line naming the node and its operator, never translated into something close.
///
/// ```swift
/// let imported = try ONNXImport.model(from: Data(contentsOf: url), name: "resnet18")
/// try WeightsFile.save(imported.model, normalization: Normalization(mean: 0.5, std: 0.25), to: "resnet18.safetensors")
/// ```
public enum ONNXImport {
  /// What an import gives.
  public struct Imported {
    /// The network with the graph's weights.
    public let model: Model
    /// The normalisation recorded in the file's metadata (models this tool exported), else nil.
    public let normalization: Normalization?
    /// What the import changed that the user should know (a final Softmax dropped).
    public let notes: [String]
  }

  /// The operators read, for messages and docs.
  public static var supportedOperators: [String] { ONNXGraph.operators }

  /// The model in `bytes` (an ONNX protobuf). `inputShape` (`[C, H, W]`) is the images' shape:
  /// needed where the graph's input dims are symbolic, or where the graph takes flat features
  /// `[N, F]` (a Flatten is put first); elsewhere it must agree with the graph. `directory`
  /// holds the files of tensors kept outside the model (PyTorch's exporter writes them for
  /// large models: `MODEL.onnx.data`).
  public static func model(from bytes: Data, name: String, inputShape: [Int]? = nil, directory: URL? = nil) throws -> Imported {
    let graph = try ONNXGraph(bytes: bytes, external: directory.map(ONNXExternalData.init))
    var notes: [String] = []
    let shape = try imageShape(graph, given: inputShape)
    let pieces = try graph.chain(from: graph.input, to: graph.output, notes: &notes)
    var builder = ONNXLayerBuilder(graph: graph)
    var current = shape
    var layers: [(String, any Layer)] = []
    if graph.inputDims.count == 1 {
      layers.append(("flatten_input", Flatten()))
      current = [shape.reduce(1, *)]
    }
    var names = Set(layers.map(\.0))
    layers += try builder.layers(pieces, shape: &current, names: &names, strip: "")
    guard current.count == 1 else {
      throw ONNXImportError("the graph's output is \(current.map(String.init).joined(separator: "×")) per sample, not one score per class")
    }
    let network = Sequential(layers)
    if let problem = network.shapeProblem(for: shape) { throw ONNXImportError("the imported network does not fit its input: \(problem)") }
    for p in network.parameters { try checkFinite(p.value, name: p.name) }
    for b in network.buffers { try checkFinite(b.value, name: b.name) }
    let model = Model(network: network, inputShape: shape, name: name)
    return Imported(model: model, normalization: storedNormalization(graph.metadata), notes: notes)
  }

  /// Refuses NaN and infinite weights: they would train and prune without a word.
  static func checkFinite(_ value: Tensor, name: String) throws {
    if let bad = value.storage.firstIndex(where: { !$0.isFinite }) {
      throw ONNXImportError("weight \(name) holds \(value.storage[bad]) at index \(bad)")
    }
  }

  /// The per-sample image shape: the graph's `[C, H, W]`, or `given` where the graph leaves it
  /// open or takes flat features.
  static func imageShape(_ graph: ONNXGraph, given: [Int]?) throws -> [Int] {
    let shape = try unboundedImageShape(graph, given: given)
    // The bounds a weights file's input shape must keep, so the file written can be read.
    let fits = shape.count == 3 && (1...NetworkArchitecture.maximumChannels).contains(shape[0])
      && shape.dropFirst().allSatisfy { (1...WeightsFile.maximumInputSize).contains($0) }
    guard fits else {
      throw ONNXImportError("images of \(shape.map(String.init).joined(separator: "×")) are out of bounds (at most \(NetworkArchitecture.maximumChannels) channels, sides of \(WeightsFile.maximumInputSize))")
    }
    return shape
  }

  static func unboundedImageShape(_ graph: ONNXGraph, given: [Int]?) throws -> [Int] {
    let dims = graph.inputDims
    if let given {
      guard given.count == 3, given.allSatisfy({ $0 > 0 }) else { throw ONNXImportError("the input shape must be C,H,W (got \(given))") }
      if dims.count == 3 {
        for (axis, (declared, wanted)) in zip(dims, given).enumerated() where declared != nil && declared != wanted {
          throw ONNXImportError("the graph's input \(graph.input) has \(declared!) along axis \(axis + 1), not \(wanted) as the input shape says")
        }
      } else if dims.count == 1, let features = dims[0], features != given.reduce(1, *) {
        throw ONNXImportError("the graph takes \(features) features; images of \(given.map(String.init).joined(separator: "×")) have \(given.reduce(1, *))")
      }
      return given
    }
    switch dims.count {
    case 3:
      guard let c = dims[0], let h = dims[1], let w = dims[2] else {
        throw ONNXImportError("the graph's input \(graph.input) has a dynamic shape (\(dims.map { $0.map(String.init) ?? "?" }.joined(separator: "×")) after the batch): give the image shape C,H,W")
      }
      return [c, h, w]
    case 1:
      // Flat features: square grey or colour images when the count says so.
      guard let f = dims[0] else { throw ONNXImportError("the graph's input \(graph.input) has a dynamic feature count: give the image shape C,H,W") }
      for channels in [1, 3] where f % channels == 0 {
        let side = Int(Double(f / channels).squareRoot().rounded())
        if side * side * channels == f { return [channels, side, side] }
      }
      throw ONNXImportError("the graph takes \(f) features, not a square image: give the image shape C,H,W they come from")
    default:
      throw ONNXImportError("the graph's input \(graph.input) has \(dims.count + 1) dimensions; [N, C, H, W] or [N, F] is imported")
    }
  }

  /// The normalisation an export of this tool recorded (`normalization_mean`/`_std`).
  static func storedNormalization(_ metadata: [String: String]) -> Normalization? {
    guard let meanText = metadata["normalization_mean"], let stdText = metadata["normalization_std"] else { return nil }
    let means = meanText.split(separator: ",").compactMap { Float($0) }, stds = stdText.split(separator: ",").compactMap { Float($0) }
    guard !means.isEmpty, means.count == stds.count, means.allSatisfy(\.isFinite), stds.allSatisfy({ $0.isFinite && $0 >= 1e-6 }) else { return nil }
    return means.count == 1 ? Normalization(mean: means[0], std: stds[0]) : Normalization(channelMeans: means, channelStds: stds)
  }
}
