import AutoPruneNN

/// How a pruned model runs at inference: as it is (masked weights, dense work), thinned (dead
/// units removed: a smaller dense network) or sparse (kept weights in CSR).
public enum InferenceForm: String, CaseIterable, Sendable {
  case masked, thinned, sparse

  /// `model` ready to run in this form: its forward function, the weights it stores, and a line
  /// saying what it became. Sparse inference follows a chain of layers only.
  public func deploy(_ model: Model) throws -> DeployedModel {
    for gate in model.network.gates { gate.prepare(training: false, rng: nil) }
    let prunableWeights = { (parameters: [Parameter]) in parameters.filter(\.prunable).reduce(0) { $0 + $1.count } }
    switch self {
    case .masked:
      return DeployedModel(
        form: self, forward: { model.network.forward($0, context: .inference) }, storedWeights: prunableWeights(model.parameters),
        description: "masked: \(model.parameterCount) parameters")
    case .thinned:
      let thinned = try Thinning.thin(model)
      return DeployedModel(
        form: self, forward: { thinned.network.forward($0, context: .inference) }, storedWeights: prunableWeights(thinned.network.parameters),
        description: "thinned: \(thinned.architecture), \(thinned.parameterCount) parameters (of \(model.parameterCount))")
    case .sparse:
      guard model.isChain else { throw InferenceFormError("sparse inference does not support \(model.name) (its residual blocks would run dense); thin it instead") }
      let network = SparseNetwork(model)
      return DeployedModel(
        form: self, forward: network.forward, storedWeights: network.nonZeros, description: "sparse: \(network.nonZeros) non-zero weights stored (CSR)")
    }
  }
}

/// A model in one inference form.
public struct DeployedModel {
  /// `masked`, `thinned` or `sparse`: the form `deploy` built.
  public let form: InferenceForm
  /// Logits of a normalised batch `[N, C, H, W]`.
  public let forward: (Tensor) -> Tensor
  /// Weights of the Dense and Conv2D layers this form stores (non-zeros for the sparse form).
  public let storedWeights: Int
  /// One line saying what the model became (`thinned: 784-112-43-10, … parameters (of …)`).
  public let description: String
}

/// A form a model cannot take.
public struct InferenceFormError: Error, CustomStringConvertible, Equatable {
  public let description: String
  /// An error with the message `description`.
  public init(_ description: String) { self.description = description }
}
