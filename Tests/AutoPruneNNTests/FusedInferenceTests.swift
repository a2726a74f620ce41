import AutoPruneKernels
import AutoPruneNN
import XCTest

/// The inference fast path: the direct shifted-convolution kernel against a six-loop
/// convolution, the conv epilogue (BatchNorm folded, residual, ReLU) against the layers one by
/// one, and whole networks fused against layer-by-layer evaluation.
final class FusedInferenceTests: XCTestCase {
  /// Six loops, in Double.
  private func naiveConvolution(_ x: Tensor, _ conv: Conv2D) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let k = conv.kernelSize, p = conv.padding, o = conv.outputChannels, s = conv.stride
    let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
    var y = Tensor(shape: [n, o, oh, ow])
    for b in 0..<n { for oo in 0..<o { for r in 0..<oh { for q in 0..<ow {
      var sum = Double(conv.hasBias ? conv.bias.value[oo] : 0)
      for cc in 0..<c { for ky in 0..<k { for kx in 0..<k {
        let iy = r * s + ky - p, ix = q * s + kx - p
        guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
        sum += Double(conv.weight.value[((oo * c + cc) * k + ky) * k + kx]) * Double(x[((b * c + cc) * h + iy) * w + ix])
      } } }
      y[((b * o + oo) * oh + r) * ow + q] = Float(sum)
    } } } }
    return y
  }

  private func assertClose(_ y: Tensor, _ expected: Tensor, accuracy: Float = 1e-4, _ message: String) {
    XCTAssertEqual(y.shape, expected.shape, message)
    guard y.shape == expected.shape else { return }
    for i in 0..<y.count where abs(y[i] - expected[i]) > accuracy * max(1, abs(expected[i])) {
      XCTFail("\(message): entry \(i) is \(y[i]), expected \(expected[i])")
      return
    }
  }

  /// Every tile edge: 1–16 outputs (partial 6-row strips, the 2-row tile for the last one or two),
  /// 1–13 input channels (below the shifted GEMM's 8), kernels 1, 3, 5 with paddings 0–2, images
  /// narrower than a 32-column tile (those on im2col) and wider, one sample and more samples
  /// than threads.
  func testDirectKernelMatchesTheNaiveConvolution() {
    let cases: [(c: Int, o: Int, k: Int, p: Int, h: Int, w: Int, n: Int)] = [
      (1, 1, 3, 1, 5, 4, 1), (2, 7, 3, 1, 8, 8, 3), (3, 14, 3, 1, 9, 34, 2), (2, 16, 3, 1, 9, 34, 2), (7, 13, 3, 0, 6, 7, 5),
      (8, 2, 5, 2, 11, 5, 4), (13, 6, 1, 0, 3, 3, 3), (4, 8, 5, 0, 7, 9, 1), (5, 5, 3, 2, 1, 1, 2),
    ]
    InstructionSet.forEachSupported { set in
      for (i, t) in cases.enumerated() {
        let conv = Conv2D(t.c, t.o, kernelSize: t.k, padding: t.p, bias: i % 2 == 0, rng: RandomSource(seed: UInt64(40 + i)))
        if !conv.hasBias { conv.bias.value = Tensor(shape: [t.o]) }
        let x = randomTensor([t.n, t.c, t.h, t.w], seed: UInt64(60 + i))
        assertClose(conv.forward(x, context: .inference), naiveConvolution(x, conv), "\(set) case \(t)")
      }
    }
  }

  /// Strides 2 and 3 through the polyphase planes: odd and even sizes, 1×1 projections, padding
  /// 0 to 3 (a 7 × 7 stem), one
  /// sample and several.
  func testStridedDirectKernelMatchesTheNaiveConvolution() {
    let cases: [(c: Int, o: Int, k: Int, p: Int, h: Int, w: Int, n: Int, s: Int)] = [
      (3, 7, 3, 1, 9, 8, 2, 2), (2, 16, 1, 0, 8, 8, 3, 2), (3, 5, 3, 0, 21, 35, 2, 2), (2, 4, 3, 2, 19, 40, 1, 2), (5, 13, 3, 1, 7, 7, 1, 2), (4, 5, 5, 2, 11, 9, 2, 3),
      (1, 2, 3, 0, 6, 7, 1, 2), (16, 32, 3, 1, 32, 32, 2, 2), (2, 3, 7, 3, 10, 9, 1, 2),
    ]
    InstructionSet.forEachSupported { set in
      for (i, t) in cases.enumerated() {
        let conv = Conv2D(t.c, t.o, kernelSize: t.k, stride: t.s, padding: t.p, rng: RandomSource(seed: UInt64(90 + i)))
        let x = randomTensor([t.n, t.c, t.h, t.w], seed: UInt64(100 + i))
        assertClose(conv.forward(x, context: .inference), naiveConvolution(x, conv), "\(set) case \(t)")
      }
    }
  }

  /// The weights packed for the direct kernel are kept between calls and repacked after any
  /// change: an optimizer step, an element set in place, a new value.
  func testPackedWeightsFollowEveryChangeOfTheWeights() {
    let conv = Conv2D(3, 7, kernelSize: 3, padding: 1, rng: RandomSource(seed: 120))
    let x = randomTensor([2, 3, 9, 9], seed: 121)
    assertClose(conv.forward(x, context: .inference), naiveConvolution(x, conv), "first call")
    conv.weight.grad = randomTensor(conv.weight.shape, seed: 122)
    SGD(learningRate: 0.5).step([conv.weight])
    assertClose(conv.forward(x, context: .inference), naiveConvolution(x, conv), "after an SGD step")
    conv.weight.value.withUnsafeMutableBufferPointer { $0[5] += 3 }
    assertClose(conv.forward(x, context: .inference), naiveConvolution(x, conv), "after an in-place change")
    conv.weight.value = randomTensor(conv.weight.shape, seed: 123)
    assertClose(conv.forward(x, context: .inference), naiveConvolution(x, conv), "after a new value")
  }

  /// The direct kernel serves images whose outputs fill most of its tiles; VGG's last stages
  /// (4 × 4, 2 × 2) go through im2col.
  func testDirectKernelIsChosenByTileUse() {
    let conv = Conv2D(16, 16, kernelSize: 3, padding: 1, rng: RandomSource(seed: 110))
    let strided = Conv2D(16, 32, kernelSize: 3, stride: 2, padding: 1, rng: RandomSource(seed: 111))
    for (layer, side, direct) in [(conv, 32, true), (conv, 8, true), (conv, 4, false), (conv, 2, false), (strided, 32, true), (strided, 16, true)] {
      XCTAssertEqual(layer.usesDirectKernel(for: layer.geometry(for: [16, side, side])), direct, "stride \(layer.stride) at \(side) × \(side)")
    }
  }

  /// `y = f(conv(x)·scale + bias·scale + shift + residual)` on both lowerings (stride 1 direct,
  /// stride 2 polyphase, a 3 × 3 image on im2col), against the same formula applied after a plain
  /// forward.
  func testEpilogueFoldsScaleShiftResidualAndReLU() {
    for (stride, side) in [(1, 9), (2, 9), (1, 3)] {
      let conv = Conv2D(3, 7, kernelSize: 3, stride: stride, padding: 1, rng: RandomSource(seed: 70))
      let x = randomTensor([3, 3, side, side], seed: 71)
      let plain = conv.forward(x, context: .inference)
      let scale = (0..<7).map { Float($0) * 0.3 - 0.8 }, shift = (0..<7).map { Float($0) * -0.2 + 0.5 }
      let residual = randomTensor(plain.shape, seed: 72)
      let plane = plain.shape[2] * plain.shape[3]
      for relu in [false, true] {
        for withResidual in [false, true] {
          var expected = plain
          for i in 0..<expected.count {
            let o = (i / plane) % 7
            var v = plain[i] * scale[o] + shift[o]
            if withResidual { v += residual[i] }
            expected[i] = relu ? max(v, 0) : v
          }
          let epilogue = ConvolutionEpilogue(scale: scale, shift: shift, residual: withResidual ? residual : nil, relu: relu)
          assertClose(conv.forward(x, epilogue: epilogue), expected, "stride \(stride) at \(side), relu \(relu), residual \(withResidual)")
        }
      }
    }
  }

  /// A small ResNet (stem, identity and projection blocks, pooling, classifier) with trained-
  /// looking BatchNorm statistics: the fused inference equals the layers run one at a time.
  func testFusedNetworkEqualsLayerByLayerEvaluation() {
    let rng = RandomSource(seed: 80)
    func norm(_ c: Int) -> BatchNorm2D {
      FusedInferenceTests.trainedLookingNorm(c, rng: rng, gamma: (0.5, 1.5), beta: (-0.5, 0.5), variance: (0.5, 2))
    }
    func conv(_ i: Int, _ o: Int, _ k: Int = 3, stride: Int = 1) -> Conv2D {
      Conv2D(i, o, kernelSize: k, stride: stride, padding: k / 2, bias: false, rng: rng)
    }
    let network = Sequential([
      ("conv1", conv(3, 8)), ("bn1", norm(8)), ("relu1", ReLU()),
      ("block1", Residual([("conv1", conv(8, 3)), ("bn1", norm(3)), ("relu", ReLU()), ("conv2", conv(3, 8)), ("bn2", norm(8))])),
      ("relu2", ReLU()),
      ("block2", Residual([("conv1", conv(8, 5, stride: 2)), ("bn1", norm(5)), ("relu", ReLU()), ("conv2", conv(5, 16)), ("bn2", norm(16))],
                          shortcut: [("0", conv(8, 16, 1, stride: 2)), ("1", norm(16))])),
      ("relu3", ReLU()),
      ("block3", Residual([("conv1", conv(16, 16)), ("bn1", norm(16)), ("relu", ReLU()), ("conv2", conv(16, 16)), ("bn2", norm(16))])),
      ("pool", GlobalAvgPool2D()), ("flatten", Flatten()), ("fc", Dense(16, 4, rng: rng)),
    ])
    for batch in [1, 5] {
      let x = randomTensor([batch, 3, 10, 10], seed: 81)
      assertClose(network.forward(x, context: .inference), layerByLayer(x, network), accuracy: 1e-5, "batch \(batch)")
    }
  }

  /// A BatchNorm with γ, β and running variance drawn from the given ranges (in this order, so a
  /// seed gives the same values) and running means in ±0.3: statistics as training leaves them.
  private static func trainedLookingNorm(
    _ c: Int, rng: RandomSource, gamma: (Float, Float), beta: (Float, Float), variance: (Float, Float)
  ) -> BatchNorm2D {
    let bn = BatchNorm2D(c)
    bn.weight.value = Tensor(shape: [c], values: (0..<c).map { _ in rng.uniform(gamma.0, gamma.1) })
    bn.bias.value = Tensor(shape: [c], values: (0..<c).map { _ in rng.uniform(beta.0, beta.1) })
    bn.runningMean.value = Tensor(shape: [c], values: (0..<c).map { _ in rng.uniform(-0.3, 0.3) })
    bn.runningVariance.value = Tensor(shape: [c], values: (0..<c).map { _ in rng.uniform(variance.0, variance.1) })
    return bn
  }

  /// Every layer run on its own in inference mode, residual additions done here.
  private func layerByLayer(_ x: Tensor, _ stack: Sequential) -> Tensor {
    stack.layers.reduce(x) { y, entry in
      guard let block = entry.layer as? Residual else { return entry.layer.forward(y, context: .inference) }
      var out = layerByLayer(y, block.body)
      let side = block.shortcut.map { layerByLayer(y, $0) } ?? y
      for i in 0..<out.count { out[i] += side[i] }
      return out
    }
  }

  /// MobileNetV2's pieces fused: a convolution with BatchNorm and ReLU6, depthwise layers (stride
  /// 1 and 2, some taps pruned to zero) with their BatchNorm and ReLU6 folded in, and an inverted
  /// residual whose linear projection ends the block (BatchNorm and the addition folded).
  func testDepthwiseLayersFoldBatchNormReLU6AndTheResidual() {
    let rng = RandomSource(seed: 90)
    // Shifts large enough that ReLU6's clamp at 6 bites.
    func norm(_ c: Int) -> BatchNorm2D {
      FusedInferenceTests.trainedLookingNorm(c, rng: rng, gamma: (0.5, 3), beta: (-1, 4), variance: (0.2, 2))
    }
    let pruned = DepthwiseConv2D(channels: 12, kernelSize: 3, stride: 1, padding: 1, bias: false, rng: rng)
    for i in stride(from: 0, to: pruned.weight.count, by: 4) { pruned.weight.value[i] = 0 }
    let network = Sequential([
      ("stem", Conv2D(3, 6, kernelSize: 3, stride: 2, padding: 1, bias: false, rng: rng)), ("stem_bn", norm(6)), ("stem_relu", ReLU6()),
      ("dw1", DepthwiseConv2D(channels: 6, kernelSize: 3, stride: 2, padding: 1, rng: rng)), ("dw1_bn", norm(6)), ("dw1_relu", ReLU6()),
      ("block", Residual([
        ("expand", Conv2D(6, 12, kernelSize: 1, bias: false, rng: rng)), ("expand_bn", norm(12)), ("expand_relu", ReLU6()),
        ("dw", pruned), ("dw_bn", norm(12)), ("dw_relu", ReLU6()),
        ("project", Conv2D(12, 6, kernelSize: 1, bias: false, rng: rng)), ("project_bn", norm(6)),
      ])),
      ("dw2", DepthwiseConv2D(channels: 6, kernelSize: 3, padding: 1, rng: rng)), ("relu", ReLU()),
      ("pool", GlobalAvgPool2D()), ("flatten", Flatten()), ("fc", Dense(6, 3, rng: rng)),
    ])
    for batch in [1, 4] {
      let x = randomTensor([batch, 3, 15, 14], seed: 91)
      assertClose(network.forward(x, context: .inference), layerByLayer(x, network), accuracy: 1e-5, "batch \(batch)")
    }
    // And a block alone, where the clamp at 6 must bite: inputs large enough to pass it.
    let small = randomTensor([2, 3, 15, 14], seed: 92)
    let x = Tensor(shape: small.shape, values: small.storage.map { $0 * 20 })
    let stem = Sequential(Array(network.layers.prefix(6)).map { ($0.name, $0.layer) })
    let fused = stem.forward(x, context: .inference)
    XCTAssertEqual(fused.storage.max() ?? 0, 6, accuracy: 1e-6)
    assertClose(fused, layerByLayer(x, stem), accuracy: 1e-5, "clamped")
  }
}
