import AutoPruneKernels
import AutoPruneNN
import XCTest

/// The depthwise convolution against a full Conv2D holding the same filters on its diagonal
/// (what `groups == channels` means), and its gradients against finite differences.
final class DepthwiseConv2DTests: XCTestCase {
  let checker = GradientChecker()

  /// A Conv2D C→C whose filter c reads only channel c, with the depthwise layer's taps.
  private func diagonal(of depthwise: DepthwiseConv2D) -> Conv2D {
    let (c, k) = (depthwise.channels, depthwise.kernelSize)
    let conv = Conv2D(c, c, kernelSize: k, stride: depthwise.stride, padding: depthwise.padding, bias: depthwise.hasBias, rng: RandomSource(seed: 1))
    var w = Tensor(shape: [c, c, k, k], repeating: 0)
    for channel in 0..<c { for t in 0..<(k * k) { w[(channel * c + channel) * k * k + t] = depthwise.weight.value[channel * k * k + t] } }
    conv.weight.value = w
    conv.bias.value = depthwise.bias.value
    return conv
  }

  func testEqualsAFullConvolutionWithDiagonalFilters() {
    for (shape, k, s, p, bias) in [([2, 3, 7, 6], 3, 1, 1, true), ([1, 4, 9, 9], 3, 2, 1, false), ([2, 2, 8, 5], 5, 2, 2, true), ([1, 3, 4, 4], 3, 1, 0, true)] {
      let depthwise = DepthwiseConv2D(channels: shape[1], kernelSize: k, stride: s, padding: p, bias: bias, rng: RandomSource(seed: 3))
      let x = randomTensor(shape, seed: 4)
      let expected = diagonal(of: depthwise).forward(x, context: .inference)
      let got = depthwise.forward(x, context: .inference)
      XCTAssertEqual(got.shape, expected.shape, "\(shape) k\(k) s\(s) p\(p)")
      XCTAssertLessThan(zip(got.storage, expected.storage).map { abs($0 - $1) }.max() ?? 1, 1e-5, "\(shape) k\(k) s\(s) p\(p)")
    }
  }

  func testGradients() {
    for (shape, k, s, p) in [([2, 3, 5, 5], 3, 1, 1), ([1, 2, 7, 6], 3, 2, 1), ([2, 2, 6, 6], 5, 2, 2), ([1, 2, 4, 5], 3, 1, 0)] {
      let layer = DepthwiseConv2D(channels: shape[1], kernelSize: k, stride: s, padding: p, rng: RandomSource(seed: 5))
      checker.check(layer, input: randomTensor(shape, seed: 6))
    }
  }

  /// A pruned tap is skipped in forward but still gets its gradient (masked weights keep
  /// learning under AutoPrune), and the layer's threads do not change a bit of the result.
  func testPrunedTapsStillLearnAndThreadsDoNotChangeTheSums() {
    let layer = DepthwiseConv2D(channels: 3, kernelSize: 3, stride: 1, padding: 1, rng: RandomSource(seed: 7))
    layer.weight.value[4] = 0
    let x = randomTensor([4, 3, 6, 6], seed: 8)
    func gradients(threads: Int) -> [Float] {
      let saved = Parallel.threads
      defer { Parallel.threads = saved }
      Parallel.threads = threads
      layer.weight.zeroGrad()
      let y = layer.forward(x, context: ForwardContext(training: true))
      _ = layer.backward(Tensor(shape: y.shape, repeating: 1))
      return layer.weight.grad.storage
    }
    let one = gradients(threads: 1)
    XCTAssertNotEqual(one[4], 0, "the pruned tap's gradient")
    XCTAssertEqual(gradients(threads: 2), one)
  }
}
