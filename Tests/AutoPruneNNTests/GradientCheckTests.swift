import AutoPruneKernels
import AutoPruneNN
import XCTest

final class GradientCheckTests: XCTestCase {
  let checker = GradientChecker()

  func testDenseGradientsOnSeveralShapes() {
    for (n, input, output) in [(1, 1, 1), (3, 7, 5), (4, 33, 17), (2, 64, 40)] {
      let layer = Dense(input, output, rng: RandomSource(seed: UInt64(input)))
      checker.check(layer, input: randomTensor([n, input], seed: 1))
    }
  }

  func testConv2DGradientsWithStrideAndPadding() {
    let cases: [(n: Int, c: Int, o: Int, h: Int, w: Int, k: Int, s: Int, p: Int)] = [
      (1, 1, 1, 3, 3, 1, 1, 0), (2, 1, 3, 6, 6, 3, 1, 0), (2, 2, 4, 7, 5, 3, 2, 1),
      (1, 3, 2, 8, 8, 5, 1, 2), (3, 2, 2, 5, 6, 2, 2, 0),
    ]
    for t in cases {
      let layer = Conv2D(t.c, t.o, kernelSize: t.k, stride: t.s, padding: t.p, rng: RandomSource(seed: 3))
      checker.check(layer, input: randomTensor([t.n, t.c, t.h, t.w], seed: 2))
    }
  }

  func testMaxPool2DGradients() {
    // Distinct values spaced well beyond ε, so the arg-max cannot flip under perturbation.
    for (shape, k, s) in [([2, 3, 4, 4], 2, 2), ([1, 2, 7, 5], 3, 2), ([1, 1, 6, 6], 2, 1)] {
      let n = shape.reduce(1, *)
      let order = RandomSource(seed: 5).permutation(n)
      let x = Tensor(shape: shape, values: order.map { Float($0) * 0.1 - Float(n) * 0.05 })
      checker.check(MaxPool2D(k, stride: s), input: x)
    }
  }

  func testReLUGradients() {
    checker.check(ReLU(), input: randomTensor([3, 11], seed: 4))
    checker.check(ReLU(), input: randomTensor([2, 2, 3, 3], seed: 5))
  }

  func testFlattenGradients() {
    checker.check(Flatten(), input: randomTensor([2, 3, 4, 5], seed: 6))
  }

  func testDropoutGradientsWithFixedMask() {
    // A fresh generator with the same seed per forward gives the same mask every time.
    checker.check(Dropout(0.5), input: randomTensor([4, 25], seed: 7)) {
      ForwardContext(training: true, rng: RandomSource(seed: 99))
    }
  }

  func testSequentialLeNetLikeStackGradients() {
    let rng = RandomSource(seed: 8)
    let net = Sequential([
      ("conv1", Conv2D(1, 3, kernelSize: 3, padding: 1, rng: rng)), ("relu1", ReLU()),
      ("pool1", MaxPool2D(2)), ("flatten", Flatten()), ("fc1", Dense(48, 5, rng: rng)),
    ])
    var loose = checker
    // ReLU and max-pool kinks inside the stack can be crossed by a perturbation of a few
    // inputs; a looser bound keeps the check meaningful without flaking.
    loose.tolerance = 2e-2
    loose.epsilon = 1e-3
    loose.check(net, input: randomTensor([2, 1, 8, 8], seed: 9))
  }

  func testSoftmaxCrossEntropyGradient() {
    let logits = randomTensor([4, 6], seed: 10)
    let labels = [0, 5, 2, 2]
    let (_, analytic, _) = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
    let eps: Float = 1e-2
    for i in 0..<logits.count {
      var plus = logits, minus = logits
      plus[i] += eps
      minus[i] -= eps
      let numeric = (SoftmaxCrossEntropy.evaluate(logits: plus, labels: labels).loss
        - SoftmaxCrossEntropy.evaluate(logits: minus, labels: labels).loss) / (2 * eps)
      XCTAssertEqual(analytic[i], numeric, accuracy: 1e-3, "dLogits[\(i)]")
    }
  }

  func testSoftmaxCrossEntropyHandWorked() {
    // Two equal logits: p = 1/2 each, loss = ln 2, gradient ±1/2; the arg-max tie goes to 0.
    let (loss, d, correct) = SoftmaxCrossEntropy.evaluate(logits: Tensor(shape: [1, 2], values: [3, 3]), labels: [1])
    XCTAssertEqual(loss, Float(M_LN2), accuracy: 1e-6)
    XCTAssertEqual(d.storage, [0.5, -0.5])
    XCTAssertEqual(correct, 0)
  }

  /// The checker must catch a gradient that is off by 2%: the gradient tests can fail.
  func testCheckerCatchesAMutatedGradient() {
    let broken = MutatedGradient(Dense(6, 4, rng: RandomSource(seed: 11)), scale: 1.02)
    let (error, _) = checker.worstError(layer: broken, input: randomTensor([3, 6], seed: 12))
    XCTAssertGreaterThan(error, checker.tolerance)
    let (paramError, _) = checker.worstError(
      layer: MutatedGradient(Dense(6, 4, rng: RandomSource(seed: 11)), scale: 1, weightScale: 0.97),
      input: randomTensor([3, 6], seed: 12))
    XCTAssertGreaterThan(paramError, checker.tolerance)
  }

  func testFirstLayerSkipsInputGradientButKeepsWeightGradient() {
    let rng = RandomSource(seed: 13)
    let conv = Conv2D(1, 2, kernelSize: 3, rng: rng)
    let net = Sequential([("conv1", conv), ("flatten", Flatten())])
    net.skipsInputGradient = true
    let x = randomTensor([2, 1, 5, 5], seed: 14)
    let y = net.forward(x, context: ForwardContext(training: true))
    let dX = net.backward(Tensor(shape: y.shape, repeating: 1))
    XCTAssertEqual(dX.count, 0)
    XCTAssertFalse(conv.weight.grad.storage.allSatisfy { $0 == 0 })
  }
}

/// Wraps a Dense layer and scales its input or weight gradient, to prove the checker fails.
final class MutatedGradient: Layer {
  let inner: Dense
  let scale: Float
  let weightScale: Float
  init(_ inner: Dense, scale: Float, weightScale: Float = 1) {
    self.inner = inner
    self.scale = scale
    self.weightScale = weightScale
  }
  var parameters: [Parameter] { inner.parameters }
  func outputShape(for inputShape: [Int]) -> [Int] { inner.outputShape(for: inputShape) }
  func forward(_ x: Tensor, context: ForwardContext) -> Tensor { inner.forward(x, context: context) }
  func backward(_ dY: Tensor) -> Tensor {
    var dX = inner.backward(dY)
    for i in 0..<dX.count { dX[i] *= scale }
    for i in 0..<inner.weight.count { inner.weight.grad[i] *= weightScale }
    return dX
  }
}
