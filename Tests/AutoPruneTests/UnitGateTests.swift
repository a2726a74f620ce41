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

  /// A filter before BatchNorm: its own data term, Σ g·sgn(w), is what the gradients make it
  /// (here set by hand); `batchnorm` uses the channel after normalisation instead,
  /// g_γ·sgn(γ) + g_β·sgn(β). One step of each, worked by hand (step clock: η_M 10, μ 1e-4).
  func testUnitsBeforeBatchNormTakeTheirDataTermFromItsChannel() {
    for term in AutoPruneOptions.UnitDataTerm.allCases {
      let rng = RandomSource(seed: 2)
      let conv = Conv2D(1, 2, kernelSize: 1, bias: false, rng: rng)
      let bn = BatchNorm2D(2)
      bn.channelSource = conv.weight
      let net = Sequential([("conv", conv), ("bn", bn)])
      var options = AutoPruneOptions.stepClock
      options.unitDataTerm = term
      let pruning = AutoPrunePruning(network: net, inputShape: [1, 3, 3], plan: ["conv": [.output]], options: options)
      XCTAssertTrue(pruning.gates[0].batchNormAffine?.scale === bn.weight)
      conv.weight.value = Tensor(shape: [2, 1, 1, 1], values: [0.5, -2])
      conv.weight.grad = Tensor(shape: [2, 1, 1, 1], values: [0.3, 0.3])     // filter terms 0.3, −0.3
      bn.weight.value = Tensor(shape: [2], values: [1.5, -0.5])
      bn.weight.grad = Tensor(shape: [2], values: [0.2, 0.1])                  // sgn(γ)·g_γ: 0.2, −0.1
      bn.bias.value = Tensor(shape: [2], values: [-1, 0.25])
      bn.bias.grad = Tensor(shape: [2], values: [0.05, 0.4])                   // sgn(β)·g_β: −0.05, 0.4
      pruning.afterBackward()
      let data: [Float] = term == .filter ? [0.3, -0.3] : [0.15, 0.3]
      // m = 1 − η·(data + μ), both gates open (STE slope 1).
      for r in 0..<2 {
        XCTAssertEqual(pruning.gates[0].output![r], 1 - 10 * (data[r] + 1e-4), accuracy: 1e-6, "\(term) unit \(r)")
      }
    }
  }
}
