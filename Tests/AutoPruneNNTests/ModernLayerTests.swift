import AutoPruneKernels
import AutoPruneNN
import XCTest

/// Gradient checks and worked cases for the layers of the CIFAR networks (BatchNorm, average
/// pooling, residual blocks).
final class ModernLayerTests: XCTestCase {
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
