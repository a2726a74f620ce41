import AutoPruneKernels
import AutoPruneNN
import XCTest

/// BatchNorm2D: gradients through the batch statistics, worked values, and closing the channel of a
/// pruned filter.
final class BatchNorm2DTests: XCTestCase {
  let checker = GradientChecker()

  /// BatchNorm with non-trivial γ and β, in training mode (batch statistics): the gradient flows
  /// through the mean and the variance too, so this checks the full formula.
  func testBatchNormGradients() {
    for shape in [[4, 3, 2, 2], [2, 5, 3, 1], [8, 1, 1, 1]] {
      let bn = BatchNorm2D(shape[1])
      let rng = RandomSource(seed: 11)
      for c in 0..<shape[1] {
        bn.weight.value[c] = rng.uniform(0.5, 1.5)
        bn.bias.value[c] = rng.uniform(-0.5, 0.5)
      }
      var loose = checker
      loose.epsilon = 1e-3  // the loss is not linear in x here: smaller steps
      loose.tolerance = 5e-3
      loose.check(bn, input: randomTensor(shape, seed: 12))
    }
  }

  /// Worked by hand: one channel holding 1, 2, 3, 4 (N = 2, 1 × 2 planes): mean 2.5, biased
  /// variance 1.25, so x̂ = (x − 2.5)/√(1.25 + ε); running mean 0.25, running variance
  /// 0.9 + 0.1 · 5/3 (unbiased 1.6667) after one step with momentum 0.1.
  func testBatchNormTrainingAndInferenceByHand() {
    let bn = BatchNorm2D(1)
    bn.weight.value[0] = 2
    bn.bias.value[0] = 1
    let x = Tensor(shape: [2, 1, 1, 2], values: [1, 2, 3, 4])
    let y = bn.forward(x, context: ForwardContext(training: true))
    let s = (1.25 + 1e-5 as Float).squareRoot()
    for (i, v) in [1, 2, 3, 4].enumerated() { XCTAssertEqual(y[i], 2 * (Float(v) - 2.5) / s + 1, accuracy: 1e-5) }
    XCTAssertEqual(bn.runningMean.value[0], 0.25, accuracy: 1e-6)
    XCTAssertEqual(bn.runningVariance.value[0], 0.9 + 0.1 * 5 / 3, accuracy: 1e-6)
    let z = bn.forward(x, context: .inference)
    let t = (bn.runningVariance.value[0] + 1e-5).squareRoot()
    for (i, v) in [1, 2, 3, 4].enumerated() { XCTAssertEqual(z[i], 2 * (Float(v) - 0.25) / t + 1, accuracy: 1e-5) }
    XCTAssertEqual(bn.runningMean.value[0], 0.25, accuracy: 1e-6, "inference leaves the running averages alone")
    let block = Sequential([("layer", Residual([("bn1", BatchNorm2D(2))], shortcut: [("1", BatchNorm2D(2))]))])
    XCTAssertEqual(block.buffers.map(\.name), ["layer.bn1.running_mean", "layer.bn1.running_var", "layer.shortcut.1.running_mean", "layer.shortcut.1.running_var"])
  }

  /// A pruned filter (all weights zero) closes its BatchNorm channel: zero output in training and
  /// inference, no gradient for its γ and β, running statistics kept; its input gradient is
  /// `dy·γ/√(running σ² + ε)` (pass-through) or zero; open channels are untouched.
  func testBatchNormClosesThePrunedFiltersChannel() {
    let conv = Conv2D(2, 3, kernelSize: 3, padding: 1, bias: false, rng: RandomSource(seed: 24))
    for i in 18..<36 { conv.weight.value[i] = 0 }  // filter 1
    let bn = BatchNorm2D(3)
    bn.bias.value = Tensor(shape: [3], values: [0.5, 0.7, -0.2])
    bn.channelSource = conv.weight
    XCTAssertEqual(bn.openChannels, [true, false, true])
    let x = conv.forward(randomTensor([2, 2, 4, 4], seed: 25), context: ForwardContext(training: true))
    for context in [ForwardContext(training: true), .inference] {
      let y = bn.forward(x, context: context)
      for s in 0..<2 { for i in 0..<16 { XCTAssertEqual(y[(s * 3 + 1) * 16 + i], 0) } }
      XCTAssertNotEqual(y[0], 0)
    }
    bn.runningVariance.value[1] = 3
    bn.runningMean.value[1] = 0.25
    bn.weight.value[1] = 1.5
    _ = bn.forward(x, context: ForwardContext(training: true))
    XCTAssertEqual(bn.runningVariance.value[1], 3, "a closed channel keeps its statistics")
    XCTAssertEqual(bn.runningMean.value[1], 0.25)
    let dY = randomTensor([2, 3, 4, 4], seed: 26)
    let dX = bn.backward(dY)
    XCTAssertEqual(bn.weight.grad[1], 0)
    XCTAssertEqual(bn.bias.grad[1], 0)
    XCTAssertNotEqual(bn.bias.grad[0], 0)
    let scale = 1.5 / (3 + bn.epsilon).squareRoot()
    for s in 0..<2 { for i in 0..<16 { XCTAssertEqual(dX[(s * 3 + 1) * 16 + i], dY[(s * 3 + 1) * 16 + i] * scale, accuracy: 1e-6) } }
    bn.closedChannelGradient = .zero
    _ = bn.forward(x, context: ForwardContext(training: true))
    let dXZero = bn.backward(dY)
    for s in 0..<2 { for i in 0..<16 { XCTAssertEqual(dXZero[(s * 3 + 1) * 16 + i], 0) } }
    XCTAssertEqual(dXZero[5], dX[5], "open channels unchanged")
  }
}
