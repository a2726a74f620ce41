import AutoPruneNN
import Foundation

/// What can be wrong when loading weights into a model.
public enum WeightsError: Error, CustomStringConvertible, Equatable {
  case wrongModel(String, fileModel: String, expected: String)
  case missingTensor(String, name: String, model: String)
  case shapeMismatch(String, name: String, fileShape: [Int], modelShape: [Int])
  case unexpectedTensor(String, name: String, model: String)
  case badMetadata(String, key: String, value: String)
  case noMasks(String, model: String)
  case nonFinite(String, name: String, index: Int, value: Float)
  case tooSmall(String, model: String, held: Int, needed: Int)

  public var description: String {
    switch self {
    case .tooSmall(let f, let m, let h, let n):
      return "\(f): holds \(h) values, a \(m) has at least \(n) weights: not that model's file"
    case .nonFinite(let f, let n, let i, let v):
      return "\(f): tensor \(n) holds \(v) at index \(i): a model with non-finite weights computes nothing meaningful"
    case .wrongModel(let f, let m, let e):
      return "\(f): weights are for model \(m), not \(e)"
    case .missingTensor(let f, let n, let m):
      return "\(f): tensor \(n) of model \(m) is missing (wrong model or incomplete file)"
    case .shapeMismatch(let f, let n, let fs, let ms):
      return "\(f): tensor \(n) has shape \(fs) but the model needs \(ms) (wrong model?)"
    case .unexpectedTensor(let f, let n, let m):
      return "\(f): tensor \(n) is not a parameter of model \(m) (wrong model?)"
    case .badMetadata(let f, let k, let v):
      return "\(f): metadata \(k) = \(v) is not valid"
    case .noMasks(let f, let m):
      return "\(f): holds no masks for model \(m) (not a pruned model?)"
    }
  }
}

/// A trained model on disk: its parameters as safetensors (PyTorch names and layouts) with the
/// model kind and input normalisation in the header's metadata.
public enum WeightsFile {
  static let formatKey = "format"
  static let formatValue = "autoprune-weights-1"
  static let architectureKey = "architecture"

  /// Saves the parameters (raw values, PyTorch names), each gated parameter's mask as
  /// `NAME_mask` (like `torch.nn.utils.prune`'s `weight_mask`), and `extraTensors`.
  public static func save(
    _ model: Model, normalization: Normalization, extra: [String: String] = [:],
    extraTensors: [(name: String, shape: [Int], values: [Float])] = [], to path: String
  ) throws {
    var metadata = extra
    metadata[formatKey] = formatValue
    metadata["model"] = model.name
    metadata["input_shape"] = model.inputShape.map(String.init).joined(separator: ",")
    if model.kind?.hasWidth == true { metadata["width"] = "\(model.width)" }
    if model.kind != nil { metadata["classes"] = "\(model.classes)" }
    // A network that is not built in carries its architecture, so the file alone rebuilds it
    // (a network with layers of the caller's own kinds cannot: it needs the caller's code).
    if model.kind == nil, let architecture = try? NetworkArchitecture(describing: model.network) {
      metadata[architectureKey] = architecture.json
    }
    metadata["normalization_mean"] = "\(normalization.mean)"
    metadata["normalization_std"] = "\(normalization.std)"
    if let means = normalization.channelMeans, let stds = normalization.channelStds {
      metadata["normalization_channel_mean"] = means.map { "\($0)" }.joined(separator: ",")
      metadata["normalization_channel_std"] = stds.map { "\($0)" }.joined(separator: ",")
    }
    var tensors = model.parameters.map { (name: $0.name, shape: $0.shape, values: $0.value.storage) }
    tensors += model.buffers.map { (name: $0.name, shape: $0.value.shape, values: $0.value.storage) }
    for p in model.parameters {
      if let mask = p.gate?.mask(for: p) { tensors.append((p.name + "_mask", p.shape, mask.storage)) }
    }
    try SafeTensors.write(tensors + extraTensors, metadata: metadata, to: path)
  }

  /// The model a file holds, built as the file declares it (kind, input channels, width, or
  /// the architecture of a network that is not built in) or as `kind` says when given, with the
  /// file's weights loaded (the file is read once), and its normalisation; nil when neither
  /// names the model.
  public static func loadModel(path: String, kind given: ModelKind?) throws -> (model: Model, normalization: Normalization?)? {
    let file = try SafeTensors.read(path: path)
    if given == nil, let json = file.metadata[architectureKey] {
      let model = try model(architecture: json, file: file, path: path)
      return (model, try load(into: model, file: file, path: path))
    }
    if given == nil, let name = file.metadata["model"], ModelKind(rawValue: name) == nil {
      throw WeightsError.badMetadata(path, key: "model", value: "\(name) (known: \(ModelKind.names), or a file with an architecture)")
    }
    guard let kind = given ?? file.metadata["model"].flatMap(ModelKind.init(rawValue:)) else { return nil }
    let shape = file.metadata["input_shape"]?.split(separator: ",").compactMap { Int($0) }
    var width = 1.0
    if let text = file.metadata["width"] {
      guard let w = Double(text), w > 0, w <= 4 else { throw WeightsError.badMetadata(path, key: "width", value: text) }
      width = w
    }
    if let shape, shape.count != 3 || !(1...16).contains(shape[0]) {
      throw WeightsError.badMetadata(path, key: "input_shape", value: file.metadata["input_shape"] ?? "")
    }
    // A file without our metadata (a PyTorch state dict): the CIFAR networks' first
    // convolution `conv1.weight [out, in, k, k]` gives the input channels, and vgg-like's width
    // is its filters over 64.
    var classes: Int?
    if let text = file.metadata["classes"] {
      // The classifier is built from this before any tensor is checked: bounded like the width.
      guard let c = Int(text), (1...maximumClasses).contains(c) else { throw WeightsError.badMetadata(path, key: "classes", value: text) }
      classes = c
    } else if kind.takesAnySize, let head = file.tensor(named: torchvisionClassifier[kind]!), head.shape.count == 2, (1...maximumClasses).contains(head.shape[0]) {
      classes = head.shape[0]  // a torchvision state dict: 1000 for ImageNet, or the user's own
    }
    if let shape, kind.takesAnySize, !(16...maximumInputSize).contains(shape[1]) || shape[1] != shape[2] {
      throw WeightsError.badMetadata(path, key: "input_shape", value: file.metadata["input_shape"] ?? "")
    }
    var channels = shape?[0]
    let stemName = kind.takesAnySize ? torchvisionStem[kind]! : "conv1.weight"
    if shape == nil, !ModelKind.lenets.contains(kind), let stem = file.tensor(named: stemName), stem.shape.count == 4 {
      channels = stem.shape[1]
      if kind == .vggLike, file.metadata["width"] == nil, stem.shape[0] > 0 { width = Double(stem.shape[0]) / 64 }
      // The same bounds as the metadata's: a stem of a million filters would build a network
      // of terabytes before any shape check could refuse it.
      guard (1...16).contains(stem.shape[1]), width <= 4 else {
        throw WeightsError.badMetadata(path, key: "conv1.weight", value: "shape \(stem.shape) (at most 16 input channels and 256 filters)")
      }
    }
    if kind == .vggLike {
      // Width comes from a few bytes of metadata; the network it builds can be a gigabyte.
      let held = file.tensors.reduce(0) { $0 + $1.values.count }
      let needed = CIFARModels.vggLikeWeightCount(width: width, inputChannels: channels ?? 3)
      if held < needed { throw WeightsError.tooSmall(path, model: "vgg-like of width \(width)", held: held, needed: needed) }
    }
    let model = Model(
      kind, rng: RandomSource(seed: 0), inputChannels: channels, width: width, inputSize: kind.takesAnySize ? shape?[1] : nil, classes: classes)
    return (model, try load(into: model, file: file, path: path))
  }

  /// The network an `architecture` metadata value describes, checked against the file's size
  /// and its declared input shape before its weights are read.
  static func model(architecture json: String, file: SafeTensors.File, path: String) throws -> Model {
    let architecture: NetworkArchitecture
    do {
      architecture = try NetworkArchitecture(json: json)
    } catch let error as ArchitectureError {
      throw WeightsError.badMetadata(path, key: architectureKey, value: error.description)
    }
    let name = file.metadata["model"] ?? "imported"
    let shapeText = file.metadata["input_shape"] ?? ""
    let shape = shapeText.split(separator: ",").compactMap { Int($0) }
    // [features], or [channels, height, width] with sides as any image file may have.
    let fits = shape.count == 1 ? (1...NetworkArchitecture.maximumFeatures).contains(shape[0])
      : shape.count == 3 && (1...NetworkArchitecture.maximumChannels).contains(shape[0]) && shape.dropFirst().allSatisfy { (1...maximumInputSize).contains($0) }
    guard shape.count == shapeText.split(separator: ",").count, fits
    else { throw WeightsError.badMetadata(path, key: "input_shape", value: shapeText) }
    let held = file.tensors.reduce(0) { $0 + $1.values.count }
    if held < architecture.parameterCount { throw WeightsError.tooSmall(path, model: name, held: held, needed: architecture.parameterCount) }
    let network = try architecture.build(rng: RandomSource(seed: 0))
    if let problem = network.shapeProblem(for: shape) {
      throw WeightsError.badMetadata(path, key: architectureKey, value: "does not fit input \(shapeText): \(problem)")
    }
    return Model(network: network, inputShape: shape, name: name)
  }

  /// Most classes a file may declare (ImageNet-21k has 21,841).
  static let maximumClasses = 22_000
  /// Largest image side a file may declare (for the networks that take any size, and for any
  /// network carrying its architecture).
  public static let maximumInputSize = 1024
  /// The classifier's weight in torchvision's state dicts: its rows are the classes.
  static let torchvisionClassifier: [ModelKind: String] = [
    .alexnet: "classifier.6.weight", .resnet18: "fc.weight", .resnet50: "fc.weight", .mobilenetv2: "classifier.1.weight",
  ]
  /// The first convolution in torchvision's state dicts: its second axis is the input channels.
  static let torchvisionStem: [ModelKind: String] = [
    .alexnet: "features.0.weight", .resnet18: "conv1.weight", .resnet50: "conv1.weight", .mobilenetv2: "features.0.0.weight",
  ]

  /// The class names a file records (an image folder's sorted folder names), nil when none.
  public static func classNames(path: String) throws -> [String]? {
    guard let text = try SafeTensors.read(path: path).metadata["class_names"] else { return nil }
    return try decodeClassNames(text, path: path)
  }

  static func decodeClassNames(_ text: String, path: String) throws -> [String] {
    guard let names = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
      throw WeightsError.badMetadata(path, key: "class_names", value: String(text.prefix(80)))
    }
    return names
  }

  /// Refuses an image folder whose classes are not those the file was trained on (class `i`
  /// would be another folder's images: an accuracy of nothing, without a word).
  public static func checkClassNames(path: String, against data: any LabelledImages) throws {
    guard let folder = data as? ImageFolderDataset, let stored = try classNames(path: path), stored != folder.classNames else { return }
    let shown = { (names: [String]) in names.prefix(5).joined(separator: ", ") + (names.count > 5 ? ", … (\(names.count))" : "") }
    throw WeightsError.badMetadata(path, key: "class_names", value: "\(shown(stored)), but the image folder's classes are \(shown(folder.classNames))")
  }

  /// `names` as the `class_names` metadata value (a JSON array: names may hold commas).
  public static func encodeClassNames(_ names: [String]) -> String {
    String(decoding: (try? JSONEncoder().encode(names)) ?? Data("[]".utf8), as: UTF8.self)
  }

  /// Refuses NaN and infinite values: they would evaluate, prune and export without a word
  /// (and a pruning run would end blaming its learning rate).
  static func checkFinite(_ values: [Float], name: String, path: String) throws {
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw WeightsError.nonFinite(path, name: name, index: bad, value: values[bad])
    }
  }

  /// Loads `path` into `model`, checking every name and shape; returns the stored normalisation
  /// (nil when the file has none, e.g. one written by PyTorch).
  @discardableResult
  public static func load(into model: Model, from path: String) throws -> Normalization? {
    try load(into: model, file: SafeTensors.read(path: path), path: path)
  }

  private static func load(into model: Model, file: SafeTensors.File, path: String) throws -> Normalization? {
    if let declared = file.metadata["model"], declared != model.name {
      throw WeightsError.wrongModel(path, fileModel: declared, expected: model.name)
    }
    let parameterNames = Set(model.parameters.map(\.name) + model.buffers.map(\.name))
    // Tensors the tool itself adds later (masks, gate state) carry a suffix; anything else
    // unknown means the file belongs to another architecture.
    if let stray = file.tensors.first(where: { !parameterNames.contains($0.name) && !$0.name.contains("_mask") && !$0.name.hasPrefix("gate.") }) {
      throw WeightsError.unexpectedTensor(path, name: stray.name, model: model.name)
    }
    for p in model.parameters {
      guard let t = file.tensor(named: p.name) else {
        throw WeightsError.missingTensor(path, name: p.name, model: model.name)
      }
      guard t.shape == p.shape else {
        throw WeightsError.shapeMismatch(path, name: p.name, fileShape: t.shape, modelShape: p.shape)
      }
      try checkFinite(t.values, name: p.name, path: path)
      p.value = Tensor(shape: t.shape, values: t.values)
    }
    for b in model.buffers {
      guard let t = file.tensor(named: b.name) else {
        throw WeightsError.missingTensor(path, name: b.name, model: model.name)
      }
      guard t.shape == b.value.shape else {
        throw WeightsError.shapeMismatch(path, name: b.name, fileShape: t.shape, modelShape: b.value.shape)
      }
      try checkFinite(t.values, name: b.name, path: path)
      b.value = Tensor(shape: t.shape, values: t.values)
    }
    // Masks of a pruned model: `fc1.weight_mask` etc. become fixed gates.
    let gate = FixedMaskGate()
    for p in model.parameters {
      guard let m = file.tensor(named: p.name + "_mask") else { continue }
      guard m.shape == p.shape else {
        throw WeightsError.shapeMismatch(path, name: p.name + "_mask", fileShape: m.shape, modelShape: p.shape)
      }
      guard m.values.allSatisfy({ $0.isFinite }) else {
        throw WeightsError.badMetadata(path, key: p.name + "_mask", value: "non-finite entries")
      }
      gate.attach(Tensor(shape: m.shape, values: m.values), to: p)
    }
    guard let meanText = file.metadata["normalization_mean"], let stdText = file.metadata["normalization_std"] else {
      return nil
    }
    guard let mean = Float(meanText), mean.isFinite else {
      throw WeightsError.badMetadata(path, key: "normalization_mean", value: meanText)
    }
    guard let std = Float(stdText), std.isFinite, std >= 1e-6 else {  // a smaller std overflows the inputs
      throw WeightsError.badMetadata(path, key: "normalization_std", value: stdText)
    }
    if let meansText = file.metadata["normalization_channel_mean"], let stdsText = file.metadata["normalization_channel_std"] {
      let means = meansText.split(separator: ",").compactMap { Float($0) }, stds = stdsText.split(separator: ",").compactMap { Float($0) }
      guard !means.isEmpty, means.count == stds.count, means.count == meansText.split(separator: ",").count,
        means.allSatisfy(\.isFinite), stds.allSatisfy({ $0.isFinite && $0 >= 1e-6 })
      else { throw WeightsError.badMetadata(path, key: "normalization_channel_mean/std", value: meansText + " / " + stdsText) }
      return Normalization(channelMeans: means, channelStds: stds)
    }
    return Normalization(mean: mean, std: std)
  }
}
