/// PyTorch's default initialisers, so a fresh model starts like `nn.Linear` / `nn.Conv2d`.
public enum Initializer {
  /// `kaiming_uniform_(w, a: sqrt(5))`: U(−b, b) with b = gain·sqrt(3 / fanIn),
  /// gain = sqrt(2 / (1 + a²)) — which simplifies to b = 1 / sqrt(fanIn).
  public static func kaimingUniform(_ t: inout Tensor, fanIn: Int, rng: RandomSource) {
    uniform(&t, bound: 1 / Float(fanIn).squareRoot(), rng: rng)
  }

  /// PyTorch's bias default: U(−1/sqrt(fanIn), 1/sqrt(fanIn)).
  public static func biasUniform(_ t: inout Tensor, fanIn: Int, rng: RandomSource) {
    uniform(&t, bound: fanIn > 0 ? 1 / Float(fanIn).squareRoot() : 0, rng: rng)
  }

  /// Fills `t` with U(−bound, bound) draws from `rng` in element order, so the seed fixes every value.
  public static func uniform(_ t: inout Tensor, bound: Float, rng: RandomSource) {
    for i in 0..<t.count { t[i] = rng.uniform(-bound, bound) }
  }
}
