import AutoPruneNN
import Foundation

/// A network's architecture as data: the layers, their settings and names, without weights.
///
/// Weights files of networks that are not built in (an imported ONNX model, a `Sequential` of
/// your own) carry it as JSON in their `architecture` metadata, so every command rebuilds the
/// network from the file alone:
///
/// ```swift
/// let architecture = try NetworkArchitecture(describing: model.network)
/// let copy = try architecture.build(rng: RandomSource(seed: 0))   // same layers, new weights
/// ```
///
/// Decoding checks every setting against bounds before anything is allocated, so a hostile
/// file cannot make the tool build a network of terabytes.
public struct NetworkArchitecture: Codable, Equatable, Sendable {
  /// One layer with its name (the prefix of its parameter names).
  public struct Entry: Codable, Equatable, Sendable {
    /// The layer's name in its `Sequential` (`conv1`).
    public var name: String
    /// What the layer is.
    public var layer: LayerDescription

    /// `layer` named `name`.
    public init(name: String, layer: LayerDescription) {
      self.name = name
      self.layer = layer
    }
  }

  /// A named branch of a concatenation.
  public struct Branch: Codable, Equatable, Sendable {
    /// The prefix of its layers' names.
    public var name: String
    /// Its layers in forward order (none: the identity).
    public var layers: [Entry]

    /// `layers` named `name`.
    public init(name: String, layers: [Entry]) {
      self.name = name
      self.layers = layers
    }
  }

  /// The layers in forward order.
  public var layers: [Entry]

  /// The layers given.
  public init(layers: [Entry]) { self.layers = layers }

  /// The architecture of `network`; throws at the first layer of a kind it cannot describe.
  public init(describing network: Sequential) throws {
    layers = try NetworkArchitecture.entries(of: network, dropping: "")
  }

  /// The entries of `network`'s layers, `prefix` left off their names (a block's shortcut or
  /// branch prefixes its layers' names with its own).
  static func entries(of network: Sequential, dropping prefix: String) throws -> [Entry] {
    try network.layers.map { name, layer in
      let local = name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
      return Entry(name: local, layer: try LayerDescription(layer, name: name))
    }
  }

  /// The JSON kept in a weights file's metadata.
  public var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
  }

  /// The architecture a weights file's `architecture` metadata holds, checked against the
  /// bounds (`problem`); throws with what is wrong.
  public init(json: String) throws {
    guard json.utf8.count <= NetworkArchitecture.maximumJSONBytes else {
      throw ArchitectureError("the architecture is \(json.utf8.count) bytes of JSON (at most \(NetworkArchitecture.maximumJSONBytes))")
    }
    // Nesting is bounded before decoding: JSONDecoder recurses once per level.
    var depth = 0, deepest = 0
    for byte in json.utf8 {
      if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") { depth += 1; deepest = max(deepest, depth) }
      if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") { depth -= 1 }
    }
    guard deepest <= 64 else { throw ArchitectureError("the architecture nests \(deepest) levels deep (at most 64)") }
    do {
      self = try JSONDecoder().decode(NetworkArchitecture.self, from: Data(json.utf8))
    } catch {
      throw ArchitectureError("the architecture is not valid JSON of layers (\(error))")
    }
    if let problem { throw ArchitectureError(problem) }
  }

  /// Most bytes of architecture JSON read (a ResNet-152 needs about 100 kB).
  static let maximumJSONBytes = 4 << 20
  /// Most features of a Dense layer's input or output (a million).
  public static let maximumFeatures = 1 << 20
  /// Most channels of a convolution or BatchNorm.
  public static let maximumChannels = 1 << 16
  /// Largest kernel, stride, padding or pooled size, in pixels.
  public static let maximumWindow = 64

  /// Why the architecture cannot be built (nil when it can): a size out of bounds, a name
  /// empty, repeated or holding a dot, a block with nothing in it.
  public var problem: String? { NetworkArchitecture.problem(in: layers, path: "") }

  private static func problem(in entries: [Entry], path: String) -> String? {
    var seen = Set<String>()
    for entry in entries {
      let label = path + entry.name
      guard !entry.name.isEmpty, !entry.name.contains("."), entry.name.count <= 200 else {
        return "layer name \"\(label)\" must be 1 to 200 characters without dots"
      }
      guard seen.insert(entry.name).inserted else { return "layer name \(label) is used twice" }
      if let problem = entry.layer.problem { return "\(label): \(problem)" }
      if case .residual(let body, let shortcut, let shortcutName) = entry.layer {
        guard !body.isEmpty else { return "\(label): a residual block needs a body" }
        guard !shortcutName.isEmpty, !shortcutName.contains(".") else { return "\(label): shortcut name \"\(shortcutName)\" must be non-empty without dots" }
        if let problem = problem(in: body, path: label + ".") { return problem }
        if let shortcut, let problem = problem(in: shortcut, path: label + "." + shortcutName + ".") { return problem }
        if let shortcut, body.contains(where: { $0.name == shortcutName }) || shortcut.isEmpty {
          return "\(label): the shortcut is empty or its name \(shortcutName) is also a layer of the body"
        }
      }
      if case .concatenation(let branches) = entry.layer {
        guard !branches.isEmpty else { return "\(label): a concatenation needs a branch" }
        var names = Set<String>()
        for branch in branches {
          guard !branch.name.isEmpty, !branch.name.contains("."), names.insert(branch.name).inserted else {
            return "\(label): branch name \"\(branch.name)\" is empty, holds a dot or is used twice"
          }
          if let problem = problem(in: branch.layers, path: label + "." + branch.name + ".") { return problem }
        }
      }
    }
    return nil
  }

  /// Values the built network's parameters hold, computed from the settings alone (to refuse a
  /// file too small for its architecture before the network is built).
  public var parameterCount: Int { NetworkArchitecture.count(layers) }

  private static func count(_ entries: [Entry]) -> Int {
    entries.reduce(0) { total, entry in
      switch entry.layer {
      case .dense(let i, let o): return total + o * i + o
      case .conv(let i, let o, let k, _, _, let bias): return total + o * i * k * k + (bias ? o : 0)
      case .depthwise(let c, let k, _, _, let bias): return total + c * k * k + (bias ? c : 0)
      case .batchNorm(let c, _, _): return total + 2 * c
      case .residual(let body, let shortcut, _): return total + count(body) + count(shortcut ?? [])
      case .concatenation(let branches): return total + branches.reduce(0) { $0 + count($1.layers) }
      default: return total
      }
    }
  }

  /// A new network of this architecture, its weights drawn from `rng` as the layers'
  /// initialisers draw them; throws when `problem` is not nil.
  public func build(rng: RandomSource) throws -> Sequential {
    if let problem { throw ArchitectureError(problem) }
    return Sequential(NetworkArchitecture.layers(layers, rng: rng))
  }

  /// New layers for `entries`, named as they are.
  static func layers(_ entries: [Entry], rng: RandomSource) -> [(String, any Layer)] {
    entries.map { ($0.name, $0.layer.make(rng: rng)) }
  }
}

/// Why an architecture cannot be described, read or built.
public struct ArchitectureError: Error, CustomStringConvertible, Equatable {
  /// What is wrong, naming the layer.
  public let description: String
  /// The error with `description`.
  public init(_ description: String) { self.description = description }
}

/// One layer's kind and settings (weights excluded).
public indirect enum LayerDescription: Codable, Equatable, Sendable {
  /// `Dense(inputs, outputs)`.
  case dense(inputs: Int, outputs: Int)
  /// `Conv2D(inputs, outputs, kernelSize:, stride:, padding:, bias:)`.
  case conv(inputs: Int, outputs: Int, kernel: Int, stride: Int, padding: Int, bias: Bool)
  /// `DepthwiseConv2D(channels:, kernelSize:, stride:, padding:, bias:)`.
  case depthwise(channels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool)
  /// `BatchNorm2D(channels, epsilon:, momentum:)`.
  case batchNorm(channels: Int, epsilon: Float, momentum: Float)
  /// `ReLU()`.
  case relu
  /// `ReLU6()`.
  case relu6
  /// `Flatten()`.
  case flatten
  /// `Dropout(probability)`.
  case dropout(probability: Float)
  /// `MaxPool2D(kernel, stride:, padding:)`.
  case maxPool(kernel: Int, stride: Int, padding: Int)
  /// `AvgPool2D(kernel, stride:)`.
  case averagePool(kernel: Int, stride: Int)
  /// `GlobalAvgPool2D()`.
  case globalAveragePool
  /// `AdaptiveAvgPool2D(height, width)`.
  case adaptiveAveragePool(height: Int, width: Int)
  /// `SelectFeatures(indices, of: inputs)`.
  case selectFeatures(indices: [Int], inputs: Int)
  /// `Residual(body, shortcut:, shortcutName:)`; a nil shortcut is the identity.
  case residual(body: [NetworkArchitecture.Entry], shortcut: [NetworkArchitecture.Entry]?, shortcutName: String)
  /// `Concatenation(branches)`: named branches (an empty one is the identity).
  case concatenation(branches: [NetworkArchitecture.Branch])

  /// The description of `layer` (`name` for the error); throws for a kind it does not know.
  public init(_ layer: any Layer, name: String) throws {
    switch layer {
    case let l as Dense: self = .dense(inputs: l.inputSize, outputs: l.outputSize)
    case let l as Conv2D:
      self = .conv(inputs: l.inputChannels, outputs: l.outputChannels, kernel: l.kernelSize, stride: l.stride, padding: l.padding, bias: l.hasBias)
    case let l as DepthwiseConv2D: self = .depthwise(channels: l.channels, kernel: l.kernelSize, stride: l.stride, padding: l.padding, bias: l.hasBias)
    case let l as BatchNorm2D: self = .batchNorm(channels: l.channels, epsilon: l.epsilon, momentum: l.momentum)
    case is ReLU: self = .relu
    case is ReLU6: self = .relu6
    case is Flatten: self = .flatten
    case let l as Dropout: self = .dropout(probability: l.probability)
    case let l as MaxPool2D: self = .maxPool(kernel: l.kernelSize, stride: l.stride, padding: l.padding)
    case let l as AvgPool2D: self = .averagePool(kernel: l.kernelSize, stride: l.stride)
    case is GlobalAvgPool2D: self = .globalAveragePool
    case let l as AdaptiveAvgPool2D: self = .adaptiveAveragePool(height: l.outputHeight, width: l.outputWidth)
    case let l as SelectFeatures: self = .selectFeatures(indices: l.indices, inputs: l.inputSize)
    case let join as Concatenation:
      self = .concatenation(branches: try join.branches.map { branch in
        NetworkArchitecture.Branch(name: branch.name, layers: try NetworkArchitecture.entries(of: branch.network, dropping: branch.name + "."))
      })
    case let block as Residual:
      self = .residual(
        body: try NetworkArchitecture.entries(of: block.body, dropping: ""),
        shortcut: try block.shortcut.map { try NetworkArchitecture.entries(of: $0, dropping: block.shortcutName + ".") },
        shortcutName: block.shortcutName)
    default: throw ArchitectureError("layer \(name) (\(type(of: layer))) has no architecture description")
    }
  }

  /// Why the settings cannot be built (nil when they can).
  var problem: String? {
    let features = 1...NetworkArchitecture.maximumFeatures, channels = 1...NetworkArchitecture.maximumChannels
    let window = 1...NetworkArchitecture.maximumWindow, padding = 0...NetworkArchitecture.maximumWindow
    switch self {
    case .dense(let i, let o):
      return features.contains(i) && features.contains(o) && i * o <= 1 << 31 ? nil : "Dense \(i)→\(o) is out of bounds"
    case .conv(let i, let o, let k, let s, let p, _):
      guard channels.contains(i), channels.contains(o), window.contains(k), window.contains(s), padding.contains(p), i * o * k * k <= 1 << 31 else {
        return "Conv2D \(i)→\(o), kernel \(k), stride \(s), padding \(p) is out of bounds"
      }
      return nil
    case .depthwise(let c, let k, let s, let p, _):
      return channels.contains(c) && window.contains(k) && window.contains(s) && padding.contains(p) ? nil
        : "DepthwiseConv2D of \(c) channels, kernel \(k), stride \(s), padding \(p) is out of bounds"
    case .batchNorm(let c, let e, let m):
      return channels.contains(c) && e > 0 && e < 1 && m >= 0 && m <= 1 ? nil : "BatchNorm2D of \(c) channels, epsilon \(e), momentum \(m) is out of bounds"
    case .dropout(let p): return p >= 0 && p < 1 ? nil : "Dropout probability \(p) is not in [0, 1)"
    case .maxPool(let k, let s, let p): return window.contains(k) && window.contains(s) && p >= 0 && 2 * p <= k ? nil : "MaxPool2D \(k), stride \(s), padding \(p) is out of bounds"
    case .averagePool(let k, let s): return window.contains(k) && window.contains(s) ? nil : "AvgPool2D \(k), stride \(s) is out of bounds"
    case .adaptiveAveragePool(let h, let w): return window.contains(h) && window.contains(w) ? nil : "AdaptiveAvgPool2D \(h)×\(w) is out of bounds"
    case .selectFeatures(let indices, let n):
      return features.contains(n) && indices.count <= NetworkArchitecture.maximumFeatures && indices.allSatisfy({ $0 >= 0 && $0 < n }) ? nil
        : "SelectFeatures of \(indices.count) from \(n) features is out of bounds"
    case .relu, .relu6, .flatten, .globalAveragePool, .residual, .concatenation: return nil
    }
  }

  /// A new layer with these settings, weights drawn from `rng`.
  func make(rng: RandomSource) -> any Layer {
    switch self {
    case .dense(let i, let o): return Dense(i, o, rng: rng)
    case .conv(let i, let o, let k, let s, let p, let bias): return Conv2D(i, o, kernelSize: k, stride: s, padding: p, bias: bias, rng: rng)
    case .depthwise(let c, let k, let s, let p, let bias): return DepthwiseConv2D(channels: c, kernelSize: k, stride: s, padding: p, bias: bias, rng: rng)
    case .batchNorm(let c, let e, let m): return BatchNorm2D(c, epsilon: e, momentum: m)
    case .relu: return ReLU()
    case .relu6: return ReLU6()
    case .flatten: return Flatten()
    case .dropout(let p): return Dropout(p)
    case .maxPool(let k, let s, let p): return MaxPool2D(k, stride: s, padding: p)
    case .averagePool(let k, let s): return AvgPool2D(k, stride: s)
    case .globalAveragePool: return GlobalAvgPool2D()
    case .adaptiveAveragePool(let h, let w): return AdaptiveAvgPool2D(h, w)
    case .selectFeatures(let indices, let n): return SelectFeatures(indices, of: n)
    case .residual(let body, let shortcut, let name):
      return Residual(
        NetworkArchitecture.layers(body, rng: rng), shortcut: shortcut.map { NetworkArchitecture.layers($0, rng: rng) }, shortcutName: name)
    case .concatenation(let branches):
      return Concatenation(branches.map { ($0.name, NetworkArchitecture.layers($0.layers, rng: rng)) })
    }
  }
}
