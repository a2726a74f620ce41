import AutoPrune
import AutoPruneNN
import XCTest

/// The phase clock: gate steps sized from the pruning phase's length, μ as a threshold, and
/// budgets that land on their target by a stated point of the phase.
final class PhaseClockTests: XCTestCase {
  /// One element gate on a `[1, 1]` weight `w` whose gradient is `g` at every step; returns the
  /// number of steps after which the gate first closed (nil: open after `steps`) and the final m.
  private func walk(g: Float, w: Float = 1, options: AutoPruneOptions, steps: Int) -> (closedAfter: Int?, m: Float) {
    let weight = Parameter(name: "w", value: Tensor(shape: [1, 1], values: [w]), prunable: true)
    let gate = AutoPruneGate(layerName: "w", weight: weight, bias: nil, rows: 1, columns: 1, axes: [.element], options: options)
    var closedAfter: Int?
    for step in 1...steps {
      weight.grad = Tensor(shape: [1, 1], values: [g])
      gate.update(mu: options.mu)
      if closedAfter == nil && gate.element![0] <= 0 { closedAfter = step }
    }
    return (closedAfter, gate.element![0])
  }

  private func phaseOptions(steps: Int, mu: Float = 1e-3, relative: Bool = false) -> AutoPruneOptions {
    var o = AutoPruneOptions()
    o.mu = mu
    o.muScale = relative ? .gradientRelative : .absolute
    o.phaseSteps = steps
    return o
  }

  func testAGateWithNoSignalClosesAtTheSameFractionOfEveryPhase() {
    // Absolute μ, g = 0: the penalty alone moves m0 = 1 by travel 2 over the phase, so the gate
    // reaches zero half-way whether the phase has 100 or 10,000 steps.
    for steps in [100, 1_000, 10_000] {
      let closed = walk(g: 0, options: phaseOptions(steps: steps), steps: steps).closedAfter
      XCTAssertNotNil(closed, "\(steps) steps")
      XCTAssertEqual(Double(closed ?? 0), Double(steps) / 2, accuracy: 1, "\(steps) steps")
    }
    // With a target the gates stop at --budget-by (0.5): the travel is taken before it, so the
    // same gate closes a quarter of the way through.
    var budgeted = phaseOptions(steps: 1_000)
    budgeted.targetKeptFraction = 0.1
    XCTAssertEqual(Double(walk(g: 0, options: budgeted, steps: 1_000).closedAfter ?? 0), 250, accuracy: 1)
    // The step clock, by contrast, counts steps: η_M·μ = 1e-3 a step closes it after 1,000.
    var step = AutoPruneOptions.stepClock
    step.mu = 1e-4
    XCTAssertNil(walk(g: 0, options: step, steps: 400).closedAfter)
    XCTAssertEqual(Double(walk(g: 0, options: step, steps: 2_000).closedAfter ?? 0), 1_000, accuracy: 1)
  }

  func testMuIsAThresholdOnTheAverageDataTerm() {
    // With travel 2, m ends at m0·(1 − 2·(1 + d/μ)) on the open side: a gate whose data term
    // d = g·sgn(w) pulls it open by more than μ/2 stays open, by less it closes — for any
    // phase length, and for either sign of w (sensitivity consistency).
    for steps in [200, 5_000] {
      let o = phaseOptions(steps: steps)
      for w: Float in [0.3, -2] {
        let sign: Float = w > 0 ? 1 : -1
        XCTAssertNil(walk(g: -0.6 * o.mu * sign, w: w, options: o, steps: steps).closedAfter, "\(steps) steps, w \(w)")
        let closing = walk(g: -0.4 * o.mu * sign, w: w, options: o, steps: steps)
        // Closes at 1/(2·0.6) ≈ 0.83 of the phase.
        XCTAssertEqual(Double(closing.closedAfter ?? 0) / Double(steps), 1 / 1.2, accuracy: 0.01, "\(steps) steps, w \(w)")
      }
    }
  }

  func testGradientRelativeScaleIsMeasuredOnTheFirstTwentiethOfThePhaseThenFixed() {
    let steps = 400
    var o = phaseOptions(steps: steps, mu: 0.1, relative: true)
    o.travel = 2
    let weight = Parameter(name: "w", value: Tensor(shape: [1, 2], values: [1, -1]), prunable: true)
    let gate = AutoPruneGate(layerName: "w", weight: weight, bias: nil, rows: 1, columns: 2, axes: [.element], options: o)
    for step in 0..<steps {
      // |g| averages 2e-3 over the first 20 steps, then grows tenfold (pruning hurts).
      let size: Float = step < 20 ? (step % 2 == 0 ? 1e-3 : 3e-3) : 2e-2
      weight.grad = Tensor(shape: [1, 2], values: [0, size])
      gate.update(mu: o.mu)
    }
    // Mean |g| over the layer's two weights: (0 + 1e-3)/2 and (0 + 3e-3)/2 alternate → 1e-3.
    XCTAssertEqual(gate.meanAbsGradient, 1e-3, accuracy: 1e-9)
  }

  /// A two-layer network whose gradients are random (the same every run) and a phase of 400
  /// steps: returns the method after `steps` steps, and the kept fraction after each step.
  private func randomPhase(
    plan: [String: Set<AutoPruneGate.Axis>], target: Float, flops: Bool = false, steps: Int = 400, fc1Bias: Float? = nil
  ) -> (pruning: AutoPrunePruning, kept: [Float]) {
    let rng = RandomSource(seed: 5)
    let net = Sequential([("fc1", Dense(20, 30, rng: rng)), ("relu", ReLU()), ("fc2", Dense(30, 5, rng: rng))])
    if let fc1Bias { (net.layer(named: "fc1") as! Dense).bias.value = Tensor(shape: [30], repeating: fc1Bias) }
    var o = AutoPruneOptions()
    o.targetKeptFraction = target
    o.targetIsFLOPs = flops
    let pruning = AutoPrunePruning(network: net, inputShape: [20], plan: plan, options: o)
    pruning.willStartPhase(steps: 400)
    let noise = RandomSource(seed: 9)
    var kept: [Float] = []
    for _ in 0..<steps {
      for p in net.parameters {
        // Some weights matter (a steady pull against shrinking them), most are noise.
        let values = p.value.storage.enumerated().map { i, w -> Float in
          let pull: Float = i % 7 == 0 ? -2e-3 * (w > 0 ? 1 : -1) : 0
          return pull + 1e-3 * noise.normal()
        }
        p.grad = Tensor(shape: p.shape, values: values)
      }
      pruning.afterBackward()
      kept.append(PruningReport(layers: pruning.layers).keptFraction)
    }
    return (pruning, kept)
  }

  func testABudgetLandsOnItsTargetAtTheDeadlineAndTheMasksFreeze() throws {
    for target: Float in [0.3, 0.05] {
      let (pruning, kept) = randomPhase(plan: ["fc1": [.element], "fc2": [.element]], target: target)
      let outcome = try XCTUnwrap(pruning.budgetOutcome)
      XCTAssertTrue(outcome.reachable)
      XCTAssertEqual(outcome.step, 200, "half-way through the 400-step phase")
      XCTAssertEqual(outcome.reached, target, accuracy: 0.02 * target, "target \(target)")
      XCTAssertTrue(pruning.frozen)
      // Frozen: nothing moves after the deadline.
      XCTAssertEqual(Set(kept[199...]).count, 1, "target \(target)")
      XCTAssertEqual(kept[199], outcome.reached)
      // The schedule had taken most of the way there before the landing.
      XCTAssertLessThan(kept[190], 1 - 0.7 * (1 - target), "target \(target)")
    }
  }

  func testAFLOPsBudgetLandsOnItsTarget() throws {
    let (pruning, _) = randomPhase(plan: ["fc1": [.element], "fc2": [.element]], target: 0.2, flops: true)
    let outcome = try XCTUnwrap(pruning.budgetOutcome)
    XCTAssertEqual(outcome.reached, 0.2, accuracy: 0.004)
    XCTAssertEqual(PruningReport(layers: pruning.layers).flopsFraction, outcome.reached)
  }

  func testAnUnreachableBudgetIsReportedAndTheMasksStayWhereTheyWere() throws {
    // Only fc1's inputs are gated and its units live on their biases: closing every input
    // still keeps fc2's 150 of 750 weights, 20%.
    let (pruning, kept) = randomPhase(plan: ["fc1": [.input]], target: 0.1, fc1Bias: 0.1)
    let outcome = try XCTUnwrap(pruning.budgetOutcome)
    XCTAssertFalse(outcome.reachable)
    XCTAssertGreaterThanOrEqual(outcome.reached, 0.2)
    XCTAssertEqual(kept[199], outcome.reached)
    XCTAssertTrue(pruning.frozen)
  }

  func testTheBudgetSurvivesACheckpointRoundTrip() throws {
    let (pruning, _) = randomPhase(plan: ["fc1": [.element], "fc2": [.element]], target: 0.3, steps: 250)
    var state = TrainingState()
    pruning.save(into: &state, prefix: "method")
    let (fresh, _) = randomPhase(plan: ["fc1": [.element], "fc2": [.element]], target: 0.3, steps: 10)
    try fresh.restore(from: state, prefix: "method")
    XCTAssertEqual(fresh.budgetOutcome, pruning.budgetOutcome)
    XCTAssertTrue(fresh.frozen)
    XCTAssertEqual(PruningReport(layers: fresh.layers).keptFraction, pruning.budgetOutcome?.reached)
  }

  /// Two layers whose gradients differ 100,000-fold: every seventh weight of each is pulled open by
  /// twice its layer's noise level, the rest is noise. Returns the kept fraction of each layer.
  private func layersOfDifferentScale(_ scale: AutoPruneOptions.MuScale) -> (fc1: Float, fc2: Float, pruning: AutoPrunePruning) {
    let rng = RandomSource(seed: 5)
    let net = Sequential([("fc1", Dense(20, 30, rng: rng)), ("relu", ReLU()), ("fc2", Dense(30, 5, rng: rng))])
    var o = AutoPruneOptions()
    o.muScale = scale
    let pruning = AutoPrunePruning(network: net, inputShape: [20], plan: ["fc1": [.element], "fc2": [.element]], options: o)
    pruning.willStartPhase(steps: 400)
    let noise = RandomSource(seed: 9)
    for _ in 0..<400 {
      for (p, sigma) in [(net.parameters[0], Float(1e-7)), (net.parameters[2], Float(1e-2))] {
        p.grad = Tensor(shape: p.shape, values: p.value.storage.enumerated().map { i, w in
          (i % 7 == 0 ? -2 * sigma * (w > 0 ? 1 : -1) : 0) + sigma * noise.normal()
        })
      }
      pruning.afterBackward()
    }
    // Open gates, not the report's kept weights: a closed fc1 would also empty fc2's columns.
    let open = pruning.gates.map { gate in Float(gate.element!.filter { $0 > 0 }.count) / Float(gate.element!.count) }
    return (open[0], open[1], pruning)
  }

  func testNetworkRelativeMuIsOneThresholdForAllLayers() throws {
    // Layer-relative: each layer is measured against its own scale, so both keep about their
    // pulled seventh whatever their gradient size.
    let layer = layersOfDifferentScale(.gradientRelative)
    XCTAssertGreaterThan(layer.fc1, 1 / 7 - 0.05)
    XCTAssertGreaterThan(layer.fc2, 1 / 7 - 0.05)
    // Network-relative: one scale for both, the geometric mean of the two (about 300 times
    // fc1's); fc1's pulls are far below it and the whole layer closes, while fc2 keeps its
    // pulled weights.
    let network = layersOfDifferentScale(.networkRelative)
    XCTAssertLessThan(network.fc1, 0.01)
    XCTAssertGreaterThan(network.fc2, 1 / 7 - 0.05)
    // The scale handed to the gates is the geometric mean of the layers' scales.
    let gates = network.pruning.gates
    let expected = (gates[0].meanAbsGradient * gates[1].meanAbsGradient).squareRoot()
    XCTAssertEqual(try XCTUnwrap(gates[0].networkScale[.element]), expected, accuracy: expected * 1e-5)
    XCTAssertEqual(gates[1].networkScale[.element], gates[0].networkScale[.element])
  }

  /// Density feedback: with γ 1 a layer whose masks keep half its weights gets half the
  /// penalty; γ 0 and a fully open layer are METHOD's constant penalty.
  func testDensityFeedbackScalesThePenaltyByTheKeptFraction() {
    func penaltyStep(gamma: Float, closeOne: Bool) -> Float {
      var o = phaseOptions(steps: 100)
      o.densityFeedback = gamma
      let weight = Parameter(name: "w", value: Tensor(shape: [1, 2], values: [1, 1]), prunable: true)
      let gate = AutoPruneGate(layerName: "w", weight: weight, bias: nil, rows: 1, columns: 2, axes: [.element], options: o)
      if closeOne {
        gate.element = [1, -1]
        gate.refreshMasks()
      }
      weight.grad = Tensor(shape: [1, 2], values: [0, 0])
      gate.update(mu: o.mu)
      return 1 - gate.element![0]
    }
    let constant = penaltyStep(gamma: 0, closeOne: true)
    // Travel 2 over 100 steps: the penalty alone moves an open gate 0.02 a step.
    XCTAssertEqual(constant, 0.02, accuracy: 1e-6)
    XCTAssertEqual(penaltyStep(gamma: 0, closeOne: false), constant, accuracy: 1e-7)
    XCTAssertEqual(penaltyStep(gamma: 1, closeOne: false), constant, accuracy: 1e-7)
    XCTAssertEqual(penaltyStep(gamma: 1, closeOne: true), constant / 2, accuracy: 1e-7)
    XCTAssertEqual(penaltyStep(gamma: 2, closeOne: true), constant / 4, accuracy: 1e-7)
  }
}
