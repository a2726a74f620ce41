import AutoPrune
import AutoPruneNN
import XCTest

final class L0GateTests: XCTestCase {
  private func layer(_ weights: [Float], rows: Int, columns: Int) -> PrunableLayer {
    let dense = Dense(columns, rows, rng: RandomSource(seed: 1))
    dense.weight.value = Tensor(shape: [rows, columns], values: weights)
    return PrunableLayer.discover(in: Sequential([("fc", dense)]), inputShape: [columns])[0]
  }

  func testTestTimeGateHandWorked() {
    // σ(0)·1.2 − 0.1 = 0.5; large |log α| saturates at 1 and 0.
    XCTAssertEqual(L0Gate.testGate(0), 0.5, accuracy: 1e-6)
    XCTAssertEqual(L0Gate.testGate(6), 1)
    XCTAssertEqual(L0Gate.testGate(-6), 0)
  }

  func testExpectedL0DerivativeMatchesFiniteDifferences() {
    // The gate's penalty gradient is p(1 − p) with p = σ(log α − β·log(−γ/ζ)).
    for logAlpha: Float in [-3, -0.5, 0, 1.2, 4] {
      let eps: Float = 1e-3
      let numeric = (L0Gate.probabilityNonZero(logAlpha + eps) - L0Gate.probabilityNonZero(logAlpha - eps)) / (2 * eps)
      let p = L0Gate.probabilityNonZero(logAlpha)
      XCTAssertEqual(p * (1 - p), numeric, accuracy: 1e-3)
    }
    // log α = 0: p = σ(−(2/3)·log(1/11)) = σ(1.5986) ≈ 0.8318.
    XCTAssertEqual(L0Gate.probabilityNonZero(0), 0.8318, accuracy: 1e-3)
  }

  func testHardConcreteSamplesHitExactZeroAndOneAndTheTestGateIsDeterministic() {
    // With log α = 0, P(z = 0) = P(u ≤ σ(β·logit(1/12))) ≈ 0.168, and the same for z = 1.
    let gate = L0Gate(layer: layer([Float](repeating: 1, count: 2000), rows: 1, columns: 2000), perUnit: false, lambda: 0, learningRate: 0.01, dropRate: 0.5)
    gate.prepare(training: true, rng: RandomSource(seed: 3))
    let zeros = Float(gate.z.filter { $0 == 0 }.count) / 2000
    let ones = Float(gate.z.filter { $0 == 1 }.count) / 2000
    XCTAssertEqual(zeros, 0.168, accuracy: 0.025)
    XCTAssertEqual(ones, 0.168, accuracy: 0.025)
    gate.prepare(training: false, rng: nil)
    XCTAssertTrue(gate.z.allSatisfy { abs($0 - 0.5) < 1e-6 })
  }

  func testPenaltyClosesUselessWeightsAndKeepsUsefulOnes() {
    // y = 2·x1 with a useless x2: λ > 0 must close x2's gate and keep x1's.
    let rng = RandomSource(seed: 4)
    let dense = Dense(2, 1, rng: rng)
    let layer = PrunableLayer.discover(in: Sequential([("fc", dense)]), inputShape: [2])[0]
    let gate = L0Gate(layer: layer, perUnit: false, lambda: 0.05, learningRate: 0.05)
    let sgd = SGD(learningRate: 0.05)
    for _ in 0..<1500 {
      let x = Tensor(shape: [16, 2], values: (0..<32).map { _ in rng.uniform(-1, 1) })
      gate.prepare(training: true, rng: rng)
      dense.weight.zeroGrad()
      dense.bias.zeroGrad()
      let y = dense.forward(x, context: ForwardContext(training: true))
      _ = dense.backward(Tensor(shape: [16, 1], values: (0..<16).map { 2 * (y[$0] - 2 * x[2 * $0]) / 16 }))
      gate.afterBackward()
      sgd.step(dense.parameters)
    }
    gate.prepare(training: false, rng: nil)
    XCTAssertEqual(gate.z[0], 1, accuracy: 1e-6)
    XCTAssertEqual(gate.z[1], 0)
    XCTAssertEqual(dense.weight.effective[0], 2, accuracy: 0.1)
  }
}
