import AutoPrune
import AutoPruneNN
import XCTest

/// Finite differences through the masked forward path `T = W ⊙ mask`.
final class MaskedForwardGradientTests: XCTestCase {
  /// L = Σ y ⊙ R in Double; central differences with ε on a Float32 value.
  private func loss(_ layer: any Layer, _ x: Tensor, _ r: Tensor) -> Double {
    let y = layer.forward(x, context: ForwardContext(training: true))
    return (0..<y.count).reduce(0.0) { $0 + Double(y[$1]) * Double(r[$1]) }
  }

  private func check(_ layer: any Layer, weight: Parameter, bias: Parameter, input x: Tensor, seed: UInt64) {
    let rng = RandomSource(seed: seed)
    let mask = Tensor(shape: weight.shape, values: (0..<weight.count).map { _ in rng.uniform() < 0.5 ? 0 : 1 })
    let gate = FixedMaskGate()
    gate.attach(mask, to: weight)
    let y = layer.forward(x, context: ForwardContext(training: true))
    let r = Tensor(shape: y.shape, values: (0..<y.count).map { _ in rng.uniform(-1, 1) })
    weight.zeroGrad()
    bias.zeroGrad()
    _ = layer.forward(x, context: ForwardContext(training: true))
    let dX = layer.backward(r)
    let eps: Float = 1e-2
    // Input gradient flows through the masked weights only.
    for i in stride(from: 0, to: x.count, by: max(1, x.count / 60)) {
      var plus = x, minus = x
      plus[i] += eps
      minus[i] -= eps
      let numeric = Float((loss(layer, plus, r) - loss(layer, minus, r)) / Double(2 * eps))
      XCTAssertEqual(dX[i], numeric, accuracy: 2e-3 * max(1, abs(numeric)), "dX[\(i)]")
    }
    // `grad` holds ∂L/∂T: for a kept weight that is ∂L/∂w; a masked weight does not move L at
    // all, yet its ∂L/∂T is still reported (what recoverable pruning trains it with).
    let dT = weight.grad
    for i in stride(from: 0, to: weight.count, by: max(1, weight.count / 80)) {
      let original = weight.value[i]
      weight.value[i] = original + eps
      let up = loss(layer, x, r)
      weight.value[i] = original - eps
      let down = loss(layer, x, r)
      weight.value[i] = original
      let numeric = Float((up - down) / Double(2 * eps))
      if mask[i] == 0 {
        XCTAssertEqual(numeric, 0, "masked weight \(i) changed the loss")
      } else {
        XCTAssertEqual(dT[i], numeric, accuracy: 2e-3 * max(1, abs(numeric)), "dT[\(i)]")
      }
    }
    // ∂L/∂T must equal the plain layer's ∂L/∂w when that layer's weights are T itself.
    weight.gate = nil
    let saved = weight.value
    weight.value = Tensor(shape: saved.shape, values: (0..<saved.count).map { saved[$0] * mask[$0] })
    weight.zeroGrad()
    _ = layer.forward(x, context: ForwardContext(training: true))
    _ = layer.backward(r)
    for i in 0..<weight.count { XCTAssertEqual(weight.grad[i], dT[i], accuracy: 1e-5) }
    weight.value = saved
  }

  func testMaskedDenseGradients() {
    let layer = Dense(7, 5, rng: RandomSource(seed: 1))
    check(layer, weight: layer.weight, bias: layer.bias, input: Tensor(shape: [3, 7], values: (0..<21).map { Float($0 % 7) / 7 - 0.4 }), seed: 2)
  }

  func testMaskedConv2DGradients() {
    let layer = Conv2D(2, 3, kernelSize: 3, stride: 1, padding: 1, rng: RandomSource(seed: 3))
    let rng = RandomSource(seed: 4)
    check(layer, weight: layer.weight, bias: layer.bias, input: Tensor(shape: [2, 2, 5, 5], values: (0..<100).map { _ in rng.uniform(-1, 1) }), seed: 5)
  }
}
