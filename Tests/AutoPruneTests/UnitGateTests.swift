import AutoPrune
import AutoPruneNN
import XCTest

/// Unit gates in front of a ReLU: what a closed neuron still receives.
final class UnitGateTests: XCTestCase {
  func testClosedNeuronBeforeReLUGetsNoDataGradient() {
    let rng = RandomSource(seed: 5)
    let net = Sequential([("fc1", Dense(3, 2, rng: rng)), ("relu", ReLU()), ("fc2", Dense(2, 1, rng: rng))])
    let pruning = AutoPrunePruning(network: net, inputShape: [3], plan: ["fc1": [.output]], options: AutoPruneOptions.stepClock)
    pruning.gates[0].output = [-0.5, 1]
    pruning.gates[0].refreshMasks()
    let x = Tensor(shape: [4, 3], values: (0..<12).map { _ in rng.uniform(-1, 1) })
    let y = net.forward(x, context: ForwardContext(training: true))
    for p in net.parameters { p.zeroGrad() }
    _ = net.backward(Tensor(shape: y.shape, repeating: 1))
    let fc1 = net.layer(named: "fc1") as! Dense
    // Row 0 (closed): pre-activation 0, ReLU'(0) = 0, so ∂L/∂T is 0 and only μ moves its gate.
    XCTAssertEqual(Array(fc1.weight.grad.storage[0..<3]), [0, 0, 0])
    XCTAssertNotEqual(Array(fc1.weight.grad.storage[3..<6]), [0, 0, 0])
    let before = pruning.gates[0].output![0]
    pruning.afterBackward()
    XCTAssertEqual(pruning.gates[0].output![0], before - 10 * 1e-4 * 0.1, accuracy: 1e-7)
  }
}
