import AutoPruneKernels
import AutoPruneNN
import XCTest

/// The shifted (stride-1, many-channel) convolution against the direct one and im2col, forward,
/// backward and gradients.
final class ShiftedConvolutionTests: XCTestCase {
  let checker = GradientChecker()

  /// Naive convolution (six loops) as the reference for the shifted-GEMM lowering.
  private func directConvolution(_ x: Tensor, _ conv: Conv2D) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let k = conv.kernelSize, p = conv.padding, o = conv.outputChannels
    let oh = h + 2 * p - k + 1, ow = w + 2 * p - k + 1
    var y = Tensor(shape: [n, o, oh, ow])
    for s in 0..<n { for oo in 0..<o { for r in 0..<oh { for q in 0..<ow {
      var sum = Double(conv.hasBias ? conv.bias.value[oo] : 0)
      for cc in 0..<c { for ky in 0..<k { for kx in 0..<k {
        let iy = r + ky - p, ix = q + kx - p
        guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
        sum += Double(conv.weight.value[((oo * c + cc) * k + ky) * k + kx]) * Double(x[((s * c + cc) * h + iy) * w + ix])
      } } }
      y[((s * o + oo) * oh + r) * ow + q] = Float(sum)
    } } } }
    return y
  }

  /// The stride-1 path (8+ input channels) against the naive convolution: kernels 1, 3 and 5, paddings 0–2,
  /// non-square images, more samples than threads, with and without bias.
  func testShiftedConvolutionMatchesTheDirectOne() {
    for (k, p, bias) in [(3, 0, true), (3, 1, false), (3, 2, true), (5, 0, true), (5, 2, false), (1, 0, true)] {
      let conv = Conv2D(8, 5, kernelSize: k, padding: p, bias: bias, rng: RandomSource(seed: 20))
      let x = randomTensor([5, 8, 7, 6], seed: 21)
      XCTAssertTrue(conv.usesShiftedLowering)
      let y = conv.forward(x, context: .inference)
      let expected = directConvolution(x, conv)
      XCTAssertEqual(y.shape, expected.shape)
      for i in 0..<y.count { XCTAssertEqual(y[i], expected[i], accuracy: 1e-4, "kernel \(k), padding \(p), entry \(i)") }
    }
  }

  /// Both backward lowerings, every kernel set this CPU runs: the same weight, bias and input
  /// gradients (up to float rounding) on shapes that exercise the blocks of samples, the
  /// weight-gradient tile edges (outputs and channel × tap rows not multiples of the tile), a
  /// 1-channel first layer, paddings 0–2, one sample, a 1 × 1 kernel, a kernel larger than the
  /// image, and both input-gradient forms (direct for 3 × 3 with padding, im2col for a 5 × 5 on a
  /// small image).
  func testShiftedBackwardMatchesIm2colOnEveryKernelSet() {
    let cases: [(shape: [Int], o: Int, k: Int, p: Int)] = [
      ([7, 20, 12, 12], 50, 5, 0), ([5, 1, 28, 28], 7, 5, 0), ([9, 16, 10, 9], 13, 3, 1), ([3, 3, 6, 7], 5, 3, 2), ([40, 8, 8, 8], 6, 3, 1),
      ([1, 4, 5, 5], 3, 3, 1), ([2, 5, 4, 4], 3, 1, 0), ([2, 3, 3, 3], 4, 5, 2),
    ]
    InstructionSet.forEachSupported { set in
      for (i, t) in cases.enumerated() {
        let x = randomTensor(t.shape, seed: UInt64(70 + i))
        var results: [[Tensor]] = []
        for lowering in [ConvolutionLowering.im2col, .shifted] {
          let conv = Conv2D(t.shape[1], t.o, kernelSize: t.k, padding: t.p, rng: RandomSource(seed: UInt64(80 + i)))
          conv.backwardLowering = lowering
          let y = conv.forward(x, context: ForwardContext(training: true, rng: RandomSource(seed: 1)))
          let dX = conv.backward(randomTensor(y.shape, seed: UInt64(90 + i)))
          results.append([conv.weight.grad, conv.bias.grad, dX])
        }
        for (name, (a, b)) in zip(["weight", "bias", "input"], zip(results[0], results[1])) {
          XCTAssertEqual(a.shape, b.shape)
          let worst = (0..<a.count).map { abs(a[$0] - b[$0]) / max(1, abs(a[$0])) }.max() ?? 0
          XCTAssertLessThan(worst, 2e-4, "\(set) case \(t): \(name) gradient")
        }
      }
    }
  }

  func testShiftedConvolutionGradients() {
    for (shape, o, k, p, bias) in [([4, 8, 5, 6], 4, 3, 1, true), ([4, 9, 4, 4], 3, 3, 0, false), ([4, 8, 3, 5], 2, 3, 2, true), ([4, 8, 6, 6], 3, 5, 0, true)] {
      let conv = Conv2D(shape[1], o, kernelSize: k, padding: p, bias: bias, rng: RandomSource(seed: 22))
      XCTAssertTrue(conv.usesShiftedLowering)
      checker.check(conv, input: randomTensor(shape, seed: 23))
    }
  }
}
