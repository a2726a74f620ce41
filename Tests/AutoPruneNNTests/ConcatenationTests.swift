import AutoPruneKernels
import AutoPruneNN
import XCTest

/// Concatenation: branches side by side along the channels, gradients split back and summed.
final class ConcatenationTests: XCTestCase {
  /// Three branches (a convolution, a convolution with BatchNorm and ReLU, the identity) on
  /// images, and two on flat features: finite differences for the input and every parameter.
  func testConcatenationGradients() {
    let rng = RandomSource(seed: 21)
    let join = Concatenation([
      ("a", [("conv", Conv2D(2, 3, kernelSize: 1, rng: rng))]),
      ("b", [("conv", Conv2D(2, 2, kernelSize: 3, padding: 1, rng: rng)), ("bn", BatchNorm2D(2)), ("relu", ReLU())]),
      ("c", []),
    ])
    XCTAssertEqual(join.outputShape(for: [2, 4, 4]), [7, 4, 4])
    XCTAssertEqual(join.parameters.map(\.name), ["a.conv.weight", "a.conv.bias", "b.conv.weight", "b.conv.bias", "b.bn.weight", "b.bn.bias"])
    var loose = GradientChecker()
    loose.epsilon = 1e-3
    loose.tolerance = 2e-2  // a ReLU kink and a BatchNorm in branch b
    loose.check(join, input: randomTensor([3, 2, 4, 4], seed: 22))
    let flat = Concatenation([("x", [("fc", Dense(5, 2, rng: rng))]), ("y", [("fc", Dense(5, 4, rng: rng))])])
    XCTAssertEqual(flat.outputShape(for: [5]), [6])
    GradientChecker().check(flat, input: randomTensor([3, 5], seed: 23))
  }

  /// Worked by hand: channel blocks of each sample in branch order.
  func testConcatenationJoinsChannelsPerSample() {
    let scale = Dense(1, 1, rng: RandomSource(seed: 1))
    scale.weight.value = Tensor(shape: [1, 1], values: [10])
    scale.bias.value = Tensor(shape: [1], values: [0])
    let join = Concatenation([("same", []), ("times10", [("fc", scale)])])
    let y = join.forward(Tensor(shape: [2, 1], values: [1, 2]), context: ForwardContext(training: true))
    XCTAssertEqual(y.shape, [2, 2])
    XCTAssertEqual(y.storage, [1, 10, 2, 20])
    let dX = join.backward(Tensor(shape: [2, 2], values: [1, 1, 1, 1]))
    XCTAssertEqual(dX.storage, [11, 11])  // the identity's 1 plus the scaled branch's 10
  }
}
