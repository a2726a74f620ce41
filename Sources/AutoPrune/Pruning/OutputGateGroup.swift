/// Output gates of layers whose units are one channel (their outputs summed by residual
/// additions): they share one auxiliary vector `m`, so a channel closes in all of them at once
/// and a thinned network can drop it everywhere.
///
/// The shared `m` is one parameter used by every member, so its gradient is the sum of what
/// each member's gate would have: data terms and penalties add up, then one step (METHOD.md's
/// rule with the STE's slope at the shared `m`).
public final class OutputGateGroup {
  /// The tied gates in forward order; the shared `m` is each one's `output`.
  public let members: [AutoPruneGate]
  private var data: [Float]
  private var penalty: Float = 0
  private var contributions = 0
  private var velocity: [Float]?

  /// Ties the members' output gates; they all start from the first member's `m`.
  public init(members: [AutoPruneGate]) {
    precondition(!members.isEmpty && members.allSatisfy { $0.output?.count == members[0].output?.count },
      "OutputGateGroup: members need output gates over the same number of units")
    self.members = members
    data = [Float](repeating: 0, count: members[0].rows)
    for gate in members {
      gate.output = members[0].output
      gate.outputGroup = self
      gate.refreshMasks()
    }
  }

  /// A member's data terms and penalty for this step, already multiplied by that member's
  /// step size η (members may have different ones on the phase clock), so the group steps with 1.
  func contribute(data terms: [Float], penalty: Float) {
    for i in data.indices { data[i] += terms[i] }
    self.penalty += penalty
    contributions += 1
  }

  /// The step of the shared `m` from what the members contributed, then each member's masks
  /// and weight rules. Call once per step after every member's `update`.
  public func step() {
    if contributions > 0, var m = members[0].output {
      let options = members[0].options
      let ste = options.ste, both = options.steScope == .both, eta: Float = 1
      if options.auxiliaryMomentum > 0 {
        var v = velocity ?? [Float](repeating: 0, count: m.count)
        for i in m.indices {
          v[i] = options.auxiliaryMomentum * v[i] + AutoPruneGate.gradient(m[i], data: data[i], penalty: penalty, ste: ste, both: both)
          m[i] -= eta * v[i]
        }
        velocity = v
      } else {
        for i in m.indices { m[i] = AutoPruneGate.step(m[i], data: data[i], penalty: penalty, ste: ste, both: both, eta: eta) }
      }
      for gate in members { gate.output = m }
    }
    for i in data.indices { data[i] = 0 }
    penalty = 0
    contributions = 0
    for gate in members { gate.finishUpdate() }
  }

  /// Saves the momentum buffer (the shared `m` is saved with each member).
  public func save(into state: inout TrainingState, prefix: String) {
    if let velocity { state.put("\(prefix).velocity", velocity) }
  }

  /// Restores the momentum buffer `save` wrote (none when it wrote none).
  public func restore(from state: TrainingState, prefix: String) throws {
    let key = "\(prefix).velocity"
    velocity = state.has(key) ? try state.floats(key, count: data.count) : nil
  }
}
