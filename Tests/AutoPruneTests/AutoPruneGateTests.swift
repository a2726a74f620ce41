import AutoPrune
import AutoPruneNN
import XCTest

/// The rule of METHOD.md on single gates with gradients chosen by the test.
final class AutoPruneGateTests: XCTestCase {
  /// A `[1, n]` weight with one element gate per entry.
  private func gate(values: [Float], m: [Float], options: AutoPruneOptions) -> AutoPruneGate {
    let weight = Parameter(name: "w", value: Tensor(shape: [1, values.count], values: values), prunable: true)
    let gate = AutoPruneGate(
      layerName: "w", weight: weight, bias: nil, rows: 1, columns: values.count, axes: [.element], options: options)
    gate.element = m
    gate.refreshMasks()
    return gate
  }

  /// Random (g, w, m) with |g| > μ; returns how many steps broke sign(Δm) = −sign(g·w).
  private func signViolations(_ options: AutoPruneOptions, count: Int = 4000, seed: UInt64 = 1) -> Int {
    let rng = RandomSource(seed: seed)
    let w = (0..<count).map { _ in rng.uniform(-2, 2) }
    let g = (0..<count).map { _ -> Float in
      let magnitude = options.mu * rng.uniform(1.01, 50)
      return rng.uniform() < 0.5 ? -magnitude : magnitude
    }
    let m = (0..<count).map { _ in rng.uniform(-1, 1) }
    let gate = gate(values: w, m: m, options: options)
    gate.weight.grad = Tensor(shape: [1, count], values: g)
    gate.update(mu: options.mu)
    var violations = 0
    for i in 0..<count {
      let delta = gate.element![i] - m[i]
      let stepSign: Int = delta > 0 ? 1 : -1
      let expected: Int = g[i] * w[i] > 0 ? -1 : 1
      if stepSign != expected { violations += 1 }
    }
    return violations
  }

  func testCorrelationConsistencySignPropertyHoldsForEverySTE() {
    for ste in [STE.identity, .leakyReLU(0.1), .leakyReLU(0.3), .softplus(1), .softplus(5)] {
      var o = AutoPruneOptions.stepClock
      o.ste = ste
      o.mu = 1e-3
      o.etaM = 0.5
      XCTAssertEqual(signViolations(o), 0, "\(ste)")
    }
  }

  func testMagnitudeSensitivityBreaksTheSignPropertyForSmallWeights() {
    var o = AutoPruneOptions.stepClock
    o.mu = 1e-3
    o.sensitivity = .magnitude
    // g·w + μ flips sign against g·w whenever |g·w| < μ and g·w < 0.
    XCTAssertGreaterThan(signViolations(o), 50)
  }

  func testCorrelationConsistencyOffBreaksTheSignProperty() {
    var o = AutoPruneOptions.stepClock
    o.mu = 1e-3
    o.correlationConsistency = false
    // Without sgn(w) the step follows −sign(g): wrong for every negative weight, about half.
    let violations = signViolations(o)
    XCTAssertGreaterThan(violations, 1500)
    XCTAssertLessThan(violations, 2500)
  }

  func testSTEParsing() {
    XCTAssertEqual(STE(parsing: "identity"), .identity)
    XCTAssertEqual(STE(parsing: "leaky-relu"), .leakyReLU(0.1))
    XCTAssertEqual(STE(parsing: "leaky-relu:0.3"), .leakyReLU(0.3))
    XCTAssertEqual(STE(parsing: "softplus:5"), .softplus(5))
    for bad in ["", "identity:2", "relu", "softplus:", "softplus:-1", "leaky-relu:nan", "leaky-relu:x"] {
      XCTAssertNil(STE(parsing: bad), bad)
    }
    XCTAssertEqual(STE.softplus(1).derivative(0), 0.5)
    XCTAssertEqual(STE.leakyReLU(0.1).derivative(0), 0.1)
  }

  func testHandWorkedStep() {
    // m = 0.5, w = −2, g = 0.3, μ = 0.1, η = 1, leaky α = 0.1 (m > 0 → s' = 1):
    // ∂̃ = 0.3·(−1)·1 + 0.1·1 = −0.2 → m = 0.7.  Then m = −0.5: s' = 0.1 → m = −0.5 + 0.02.
    var o = AutoPruneOptions.stepClock
    o.mu = 0.1
    o.etaM = 1
    let g = gate(values: [-2, -2], m: [0.5, -0.5], options: o)
    g.weight.grad = Tensor(shape: [1, 2], values: [0.3, 0.3])
    g.update(mu: 0.1)
    XCTAssertEqual(g.element![0], 0.7, accuracy: 1e-6)
    XCTAssertEqual(g.element![1], -0.48, accuracy: 1e-6)
    XCTAssertEqual(g.mask(for: g.weight)?.storage, [1, 0])
    XCTAssertEqual(g.weight.effective.storage, [-2, 0])
  }

  /// Steps until the second of two weights reopens: it is useless for `closedSteps` (its data
  /// term is 0, so μ closes it and pushes it down), then useful (g·sgn(w) = −favour).
  private func stepsToReopen(_ options: AutoPruneOptions, closedSteps: Int, favour: Float, budget: Int) -> Int? {
    let g = gate(values: [1, 1], m: [1, 0.05], options: options)
    for step in 0..<(closedSteps + budget) {
      let useful = step >= closedSteps
      // Weight 1 is always useful enough to stay; weight 2 only later.
      g.weight.grad = Tensor(shape: [1, 2], values: [-3 * options.mu, useful ? -favour : 0])
      g.update(mu: options.mu)
      if useful && g.element![1] > 0 { return step - closedSteps }
    }
    return nil
  }

  func testClosedGateReopensUnderLeakyReLUAndSoftplusButNotIdentityWhenSTEDampsThePenalty() {
    // The paper's argument: with the identity STE the penalty keeps pushing a closed gate ever
    // further below zero, so a weight that becomes useful again cannot come back in time;
    // leaky-ReLU/softplus damp that push. (Needs `steScope = penaltyOnly`, see below.)
    var reopened: [String: Int?] = [:]
    for ste in [STE.identity, .leakyReLU(0.1), .softplus(1)] {
      var o = AutoPruneOptions.stepClock
      o.mu = 0.01
      o.etaM = 1
      o.ste = ste
      o.steScope = .penaltyOnly
      reopened["\(ste)"] = stepsToReopen(o, closedSteps: 1000, favour: 0.05, budget: 100)
    }
    XCTAssertNil(reopened["identity"]!, "identity reopened")
    XCTAssertNotNil(reopened["leaky-relu:0.1"]!, "leaky-relu did not reopen")
    XCTAssertNotNil(reopened["softplus:1.0"]!, "softplus did not reopen")
  }

  func testWithMETHODsFormulaTheSTEOnlyRescalesTimeBelowZero() {
    // s'(m) > 0 multiplies data and penalty alike, so the STE cannot change whether a gate
    // reopens, only how long it takes: identity and leaky-ReLU need the same number of steps
    // up to one step of discretisation.
    var steps: [Int] = []
    for ste in [STE.identity, .leakyReLU(0.1)] {
      var o = AutoPruneOptions.stepClock
      o.mu = 0.01
      o.etaM = 1
      o.ste = ste
      steps.append(try! XCTUnwrap(stepsToReopen(o, closedSteps: 1000, favour: 0.05, budget: 10_000)))
    }
    XCTAssertEqual(Double(steps[0]), Double(steps[1]), accuracy: 2 + 0.02 * Double(steps[0]))
  }

  func testAuxiliaryMomentumHandWorked() {
    // Constant data term d = g·sgn(w) = −0.3·1, μ = 0.1: ∂̃ = −0.2 while m > 0 (s' = 1).
    // β = 0.5, η = 1: v1 = −0.2, m1 = 1.2; v2 = −0.3, m2 = 1.5.
    var o = AutoPruneOptions.stepClock
    o.mu = 0.1
    o.etaM = 1
    o.auxiliaryMomentum = 0.5
    let g = gate(values: [2], m: [1], options: o)
    for expected: Float in [1.2, 1.5] {
      g.weight.grad = Tensor(shape: [1, 1], values: [-0.3])
      g.update(mu: 0.1)
      XCTAssertEqual(g.element![0], expected, accuracy: 1e-6)
    }
  }

  func testRandomPositiveStartIsSeededAndOpen() {
    var o = AutoPruneOptions.stepClock
    o.m0 = 1
    o.m0Spread = 0.5
    func start(_ seed: UInt64) -> [Float] {
      o.m0Seed = seed
      let weight = Parameter(name: "w", value: Tensor(shape: [4, 25]), prunable: true)
      return AutoPruneGate(layerName: "w", weight: weight, bias: nil, rows: 4, columns: 25, axes: [.element], options: o).element!
    }
    let a = start(1)
    XCTAssertEqual(a, start(1))
    XCTAssertNotEqual(a, start(2))
    XCTAssertTrue(a.allSatisfy { $0 >= 0.5 && $0 <= 1.5 })
    XCTAssertGreaterThan(Set(a).count, 90)
  }

  func testRecoverableMaskedWeightKeepsLearningFrozenOneStaysBitIdentical() {
    for mode in AutoPruneOptions.MaskedWeights.allCases {
      var o = AutoPruneOptions.stepClock
      o.maskedWeights = mode
      o.mu = 0
      o.etaM = 1e-3  // the gate stays closed: this test is about the weight rule
      let g = gate(values: [0.5, 0.25], m: [1, -1], options: o)
      let sgd = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
      let before = g.weight.value[1]
      for _ in 0..<5 {
        g.weight.grad = Tensor(shape: [1, 2], values: [0.2, -0.3])
        g.update(mu: 0)
        sgd.step([g.weight])
      }
      if mode == .frozen {
        XCTAssertEqual(g.weight.value[1].bitPattern, before.bitPattern)
      } else {
        XCTAssertGreaterThan(g.weight.value[1], before + 0.1)
      }
      XCTAssertLessThan(g.element![1], 0)
    }
  }

  func testClosedGatesSkipWeightDecayUnlessAsked() {
    for decay in AutoPruneOptions.ClosedGateDecay.allCases {
      var o = AutoPruneOptions.stepClock
      o.weightDecayOnClosedGates = decay
      o.mu = 0
      let g = gate(values: [1, 1], m: [1, -1], options: o)
      g.weight.grad = Tensor(shape: [1, 2], values: [0, 0])
      g.update(mu: 0)
      SGD(learningRate: 0.1, weightDecay: 0.5).step([g.weight])
      XCTAssertEqual(g.weight.value[0], 0.95, accuracy: 1e-7)
      XCTAssertEqual(g.weight.value[1], decay == .skip ? 1 : 0.95, accuracy: 1e-7)
    }
  }

  /// A masked weight keeps learning the useful value while its gate is closed, then the gate
  /// reopens: y = 2·x1 + 3·x2 with w2's gate starting closed.
  func testRecoverableGateReopensWithAUsefulValue() {
    let rng = RandomSource(seed: 3)
    let layer = Dense(2, 1, rng: rng)
    layer.weight.value = Tensor(shape: [1, 2], values: [0, 0])
    layer.bias.value = Tensor(shape: [1], values: [0])
    var o = AutoPruneOptions.stepClock
    o.mu = 1e-3
    o.etaM = 1
    let gate = AutoPruneGate(layerName: "fc", weight: layer.weight, bias: nil, rows: 1, columns: 2, axes: [.element], options: o)
    gate.element = [1, -0.2]
    gate.refreshMasks()
    let sgd = SGD(learningRate: 0.05)
    for _ in 0..<400 {
      let x = Tensor(shape: [16, 2], values: (0..<32).map { _ in rng.uniform(-1, 1) })
      let target = (0..<16).map { 2 * x[2 * $0] + 3 * x[2 * $0 + 1] }
      layer.weight.zeroGrad()
      layer.bias.zeroGrad()
      let y = layer.forward(x, context: ForwardContext(training: true))
      let dY = Tensor(shape: [16, 1], values: (0..<16).map { 2 * (y[$0] - target[$0]) / 16 })
      _ = layer.backward(dY)
      gate.update(mu: o.mu)
      sgd.step(layer.parameters)
    }
    XCTAssertGreaterThan(gate.element![1], 0, "gate did not reopen")
    XCTAssertEqual(layer.weight.value[1], 3, accuracy: 0.1)
    XCTAssertEqual(layer.weight.effective[1], 3, accuracy: 0.1)
  }
}
