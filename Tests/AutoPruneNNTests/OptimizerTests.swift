import AutoPruneNN
import XCTest

final class OptimizerTests: XCTestCase {
  private func parameter(_ w: Float, grad g: Float) -> Parameter {
    let p = Parameter(name: "w", value: Tensor(shape: [1], values: [w]), prunable: true)
    p.grad = Tensor(shape: [1], values: [g])
    return p
  }

  func testSGDMomentumHandWorked() {
    // Step 1: b = g = 0.5, w = 1 − 0.1·0.5 = 0.95. Step 2: b = 0.9·0.5 + 0.5 = 0.95, w = 0.95 − 0.095.
    let p = parameter(1, grad: 0.5)
    let sgd = SGD(learningRate: 0.1, momentum: 0.9)
    sgd.step([p])
    XCTAssertEqual(p.value[0], 0.95, accuracy: 1e-7)
    sgd.step([p])
    XCTAssertEqual(p.value[0], 0.855, accuracy: 1e-6)
  }

  func testSGDNesterovHandWorked() {
    // b = 0.5, d = 0.5 + 0.9·0.5 = 0.95, w = 1 − 0.095.
    let p = parameter(1, grad: 0.5)
    SGD(learningRate: 0.1, momentum: 0.9, nesterov: true).step([p])
    XCTAssertEqual(p.value[0], 0.905, accuracy: 1e-6)
  }

  func testSGDWeightDecayAddsToGradient() {
    // d = 0.5 + 0.1·2 = 0.7, w = 2 − 0.1·0.7 = 1.93.
    let p = parameter(2, grad: 0.5)
    SGD(learningRate: 0.1, weightDecay: 0.1).step([p])
    XCTAssertEqual(p.value[0], 1.93, accuracy: 1e-6)
  }

  func testAdamFirstStepsHandWorked() {
    // Step 1: m̂ = g, v̂ = g², so w −= lr·g/(|g| + ε) ≈ lr·sign(g).
    let p = parameter(1, grad: 0.5)
    let adam = Adam(learningRate: 0.01)
    adam.step([p])
    XCTAssertEqual(p.value[0], 1 - 0.01 * 0.5 / (0.5 + 1e-8), accuracy: 1e-7)
    // Step 2 with g = −0.5: m = 0.1·(0.9·0.5) + ... computed in Double here.
    p.grad[0] = -0.5
    adam.step([p])
    let m = 0.9 * 0.05 + 0.1 * -0.5, v = 0.999 * 0.00025 + 0.001 * 0.25
    let mHat = m / (1 - 0.81), vHat = v / (1 - 0.998001)
    XCTAssertEqual(Double(p.value[0]), 1 - 0.01 * 0.5 / (0.5 + 1e-8) - 0.01 * mHat / (vHat.squareRoot() + 1e-8), accuracy: 1e-6)
  }

  func testSGDMinimisesAQuadratic() {
    // f(w) = ½‖w − 3‖²: gradient w − 3; momentum SGD must converge to 3.
    let p = Parameter(name: "w", value: Tensor(shape: [3], values: [0, 10, -4]), prunable: true)
    let sgd = SGD(learningRate: 0.1, momentum: 0.5)
    for _ in 0..<200 {
      for i in 0..<3 { p.grad[i] = p.value[i] - 3 }
      sgd.step([p])
    }
    for i in 0..<3 { XCTAssertEqual(p.value[i], 3, accuracy: 1e-4) }
  }

  func testLearningRateSchedules() {
    XCTAssertEqual(LearningRateSchedule.constant(0.1).rate(epoch: 7), 0.1)
    let step = LearningRateSchedule.step(base: 1, every: 2, gamma: 0.5)
    XCTAssertEqual([0, 1, 2, 3, 4].map { step.rate(epoch: $0) }, [1, 1, 0.5, 0.5, 0.25])
    let cosine = LearningRateSchedule.cosine(base: 1, totalEpochs: 4, minimum: 0)
    XCTAssertEqual(cosine.rate(epoch: 0), 1, accuracy: 1e-7)
    XCTAssertEqual(cosine.rate(epoch: 2), 0.5, accuracy: 1e-7)
    XCTAssertEqual(cosine.rate(epoch: 4), 0, accuracy: 1e-7)
  }
}
