import AutoPruneKernels
import AutoPruneNN
import XCTest

/// Residual blocks with identity and projection shortcuts: gradients and the addition.
final class ResidualTests: XCTestCase {
  let checker = GradientChecker()

  /// A ResNet basic block both ways: identity shortcut (same shape) and the 1×1 projection with
  /// BatchNorm (stride 2, more channels).
  func testResidualBlockGradientsWithBothShortcuts() {
    let rng = RandomSource(seed: 15)
    func body(_ c: Int, _ o: Int, stride: Int) -> [(String, any Layer)] {
      [("conv1", Conv2D(c, o, kernelSize: 3, stride: stride, padding: 1, rng: rng)), ("bn1", BatchNorm2D(o)), ("relu1", ReLU()),
       ("conv2", Conv2D(o, o, kernelSize: 3, padding: 1, rng: rng)), ("bn2", BatchNorm2D(o))]
    }
    var loose = checker
    loose.epsilon = 1e-3
    loose.tolerance = 2e-2  // ReLU kinks and two BatchNorms in the block
    let identity = Residual(body(3, 3, stride: 1))
    XCTAssertEqual(identity.outputShape(for: [3, 6, 6]), [3, 6, 6])
    loose.check(identity, input: randomTensor([4, 3, 6, 6], seed: 16))
    let projection = Residual(body(2, 4, stride: 2), shortcut: [("0", Conv2D(2, 4, kernelSize: 1, stride: 2, rng: rng)), ("1", BatchNorm2D(4))])
    XCTAssertEqual(projection.outputShape(for: [2, 6, 6]), [4, 3, 3])
    XCTAssertEqual(projection.parameters.map(\.name), [
      "conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "conv2.weight", "conv2.bias", "bn2.weight", "bn2.bias",
      "shortcut.0.weight", "shortcut.0.bias", "shortcut.1.weight", "shortcut.1.bias",
    ])
    loose.check(projection, input: randomTensor([4, 2, 6, 6], seed: 17))
  }

  /// The identity block adds its input exactly: with a body whose output is zero the block is
  /// the identity.
  func testResidualAddsTheShortcut() {
    let bn = BatchNorm2D(2)
    bn.weight.value = Tensor(shape: [2])  // γ = 0, β = 0: the body outputs zeros
    let block = Residual([("bn", bn)])
    let x = randomTensor([2, 2, 3, 3], seed: 18)
    XCTAssertEqual(block.forward(x, context: ForwardContext(training: true)).storage, x.storage)
  }
}
