/// Which AutoPrune gates each layer gets, written `NAME=AXES,…` with AXES from `element`,
/// `output`, `input` joined by `+` (the form `--layer-gates` takes): `fc1=input+output,fc2=output`.
/// Layers the plan does not name stay dense.
public struct GatePlan: Equatable, Sendable {
  /// Layer name → the axes of its gate.
  public var axes: [String: Set<AutoPruneGate.Axis>]

  /// A plan from `axes` as it is; `check(against:)` finds names the model lacks.
  public init(_ axes: [String: Set<AutoPruneGate.Axis>]) { self.axes = axes }

  /// Parses `NAME=AXES,…`; a layer named twice, an unknown axis or an empty entry is an error
  /// naming it.
  public init(parsing text: String) throws {
    guard !text.isEmpty else { throw GatePlanError("the plan is empty: give NAME=AXES,…") }
    var axes: [String: Set<AutoPruneGate.Axis>] = [:]
    for entry in text.split(separator: ",", omittingEmptySubsequences: false) {
      let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw GatePlanError("'\(entry)' is not NAME=AXES") }
      var set: Set<AutoPruneGate.Axis> = []
      for axis in parts[1].split(separator: "+", omittingEmptySubsequences: false) {
        guard let parsed = GatePlan.names[String(axis)] else {
          throw GatePlanError("unknown axis '\(axis)' for \(parts[0]) (element, output, input)")
        }
        set.insert(parsed)
      }
      guard axes[parts[0]] == nil else { throw GatePlanError("\(parts[0]) is named twice (join its axes with +)") }
      axes[parts[0]] = set
    }
    self.axes = axes
  }

  private static let names: [String: AutoPruneGate.Axis] = ["element": .element, "output": .output, "input": .input]

  /// Refuses a plan naming a layer `model` has no prunable layer of, listing the ones it has;
  /// call it before any training, so a typo costs nothing.
  public func check(against model: Model) throws {
    let names = Set(PrunableLayer.discover(in: model).map(\.name))
    if let unknown = axes.keys.sorted().first(where: { !names.contains($0) }) {
      throw GatePlanError("\(model.name) has no prunable layer \(unknown) (it has \(names.sorted().joined(separator: ", ")))")
    }
  }
}

/// A gate plan that cannot be read or does not fit the model.
public struct GatePlanError: Error, CustomStringConvertible, Equatable {
  public let description: String
  /// An error with the message `description`.
  public init(_ description: String) { self.description = description }
}
