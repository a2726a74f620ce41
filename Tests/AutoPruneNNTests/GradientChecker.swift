import AutoPruneNN
import XCTest

/// Finite-difference gradient checks for layers.
///
/// The scalar checked is `L = Σ y ⊙ R` for a fixed random `R`, so `∂L/∂y = R`. Central
/// differences are taken on Float32 values and `L` is summed in Double; for layers that are
/// linear in the perturbed value the difference is exact up to rounding, so the tolerance
/// below (relative to max(1, |analytic|)) only has to absorb Float32 rounding.
struct GradientChecker {
  var epsilon: Float = 1e-2
  var tolerance: Float = 2e-3
  /// At most this many entries of each tensor are checked (spread evenly).
  var samples = 150

  struct Mismatch: CustomStringConvertible {
    let what: String
    let index: Int
    let analytic: Float
    let numeric: Float
    var description: String { "\(what)[\(index)]: analytic \(analytic) vs numeric \(numeric)" }
  }

  /// Worst relative error over sampled input and parameter entries, and where it was.
  func worstError(
    layer: any Layer, input: Tensor, seed: UInt64 = 7, makeContext: () -> ForwardContext = { ForwardContext(training: true) }
  ) -> (error: Float, at: Mismatch?) {
    let rng = RandomSource(seed: seed)
    let y0 = layer.forward(input, context: makeContext())
    let r = Tensor(shape: y0.shape, values: (0..<y0.count).map { _ in rng.uniform(-1, 1) })
    for p in layer.parameters { p.zeroGrad() }
    _ = layer.forward(input, context: makeContext())
    let dX = layer.backward(r)

    func loss(_ x: Tensor) -> Double {
      let y = layer.forward(x, context: makeContext())
      var sum = 0.0
      for i in 0..<y.count { sum += Double(y[i]) * Double(r[i]) }
      return sum
    }
    var worst: Float = 0
    var worstAt: Mismatch?
    func consider(_ what: String, _ index: Int, _ analytic: Float, _ numeric: Float) {
      let err = abs(analytic - numeric) / max(1, abs(analytic))
      if err > worst {
        worst = err
        worstAt = Mismatch(what: what, index: index, analytic: analytic, numeric: numeric)
      }
    }
    for i in sampleIndices(input.count) {
      var plus = input, minus = input
      plus[i] += epsilon
      minus[i] -= epsilon
      let numeric = Float((loss(plus) - loss(minus)) / Double(2 * epsilon))
      consider("dX", i, dX[i], numeric)
    }
    for p in layer.parameters {
      let analytic = p.grad
      let original = p.value
      for i in sampleIndices(p.count) {
        p.value[i] = original[i] + epsilon
        let up = loss(input)
        p.value[i] = original[i] - epsilon
        let down = loss(input)
        p.value[i] = original[i]
        consider(p.name, i, analytic[i], Float((up - down) / Double(2 * epsilon)))
      }
    }
    return (worst, worstAt)
  }

  private func sampleIndices(_ count: Int) -> [Int] {
    if count <= samples { return Array(0..<count) }
    return (0..<samples).map { $0 * count / samples }
  }

  /// Asserts the layer's gradients match finite differences.
  func check(_ layer: any Layer, input: Tensor, file: StaticString = #filePath, line: UInt = #line,
             makeContext: () -> ForwardContext = { ForwardContext(training: true) }) {
    let (error, at) = worstError(layer: layer, input: input, makeContext: makeContext)
    XCTAssertLessThan(error, tolerance, "worst gradient mismatch \(at.map(String.init(describing:)) ?? "")", file: file, line: line)
  }
}

/// Random tensor whose entries stay at least `margin` away from 0 (no ReLU kink within ε).
func randomTensor(_ shape: [Int], seed: UInt64, margin: Float = 0.05) -> Tensor {
  let rng = RandomSource(seed: seed)
  let n = shape.reduce(1, *)
  return Tensor(shape: shape, values: (0..<n).map { _ in
    let v = rng.uniform(margin, 1)
    return rng.uniform() < 0.5 ? -v : v
  })
}
