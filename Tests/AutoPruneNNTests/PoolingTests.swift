import AutoPruneKernels
import AutoPruneNN
import XCTest

/// Average and global average pooling: gradients and values.
final class PoolingTests: XCTestCase {
  let checker = GradientChecker()

  func testAveragePoolingGradientsAndValues() {
    for (shape, k, s) in [([2, 3, 4, 4], 2, 2), ([1, 2, 7, 5], 3, 2), ([1, 1, 6, 6], 2, 1)] {
      checker.check(AvgPool2D(k, stride: s), input: randomTensor(shape, seed: 13))
    }
    checker.check(GlobalAvgPool2D(), input: randomTensor([3, 4, 5, 2], seed: 14))
    let x = Tensor(shape: [1, 1, 2, 4], values: [1, 2, 3, 4, 5, 6, 7, 8])
    XCTAssertEqual(AvgPool2D(2)(x).storage, [3.5, 5.5])
    XCTAssertEqual(GlobalAvgPool2D()(x).storage, [4.5])
    XCTAssertEqual(GlobalAvgPool2D()(x).shape, [1, 1])
  }
}
