import AutoPruneKernels
import AutoPruneNN
import XCTest

/// ReLU6 and adaptive average pooling: values by hand and gradients.
final class MobileLayerTests: XCTestCase {
  let checker = GradientChecker()

  func testReLU6ClampsToZeroAndSix() {
    let x = Tensor(shape: [1, 5], values: [-1, 0.5, 3, 6.5, 9])
    XCTAssertEqual(ReLU6()(x).storage, [0, 0.5, 3, 6, 6])
    // Inputs spread over both kinks, none within ε of them.
    let rng = RandomSource(seed: 9)
    let spread = Tensor(shape: [4, 20], values: (0..<80).map { _ in
      let v = rng.uniform(-2, 8)
      return abs(v) < 0.05 || abs(v - 6) < 0.05 ? v + 0.2 : v
    })
    checker.check(ReLU6(), input: spread)
  }

  func testAdaptiveAveragePoolingUsesPyTorchsBins() {
    // 5 → 3: rows 0..<2, 1..<4, 3..<5 (overlapping, as PyTorch's floor/ceil bins are).
    let x = Tensor(shape: [1, 1, 1, 5], values: [1, 2, 3, 4, 5])
    XCTAssertEqual(AdaptiveAvgPool2D(1, 3)(x).storage, [1.5, 3, 4.5])
    let image = randomTensor([2, 3, 6, 6], seed: 10)
    XCTAssertEqual(AdaptiveAvgPool2D(6, 6)(image).storage, image.storage, "the same size is the identity")
    let global = GlobalAvgPool2D()(image).storage, one = AdaptiveAvgPool2D(1, 1)(image).storage
    XCTAssertLessThan(zip(global, one).map { abs($0 - $1) }.max()!, 1e-6)
    for (shape, oh, ow) in [([2, 2, 5, 7], 3, 2), ([1, 3, 6, 6], 4, 4), ([1, 1, 3, 3], 6, 6)] {
      checker.check(AdaptiveAvgPool2D(oh, ow), input: randomTensor(shape, seed: 11))
    }
  }
}
