#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Straight-through estimator `s'(m)` standing in for the step function's derivative.
public enum STE: Equatable, Sendable, CustomStringConvertible {
  /// The "linear" STE: `s'(m) = 1`.
  case identity
  /// `s'(m) = 1` for `m > 0`, `α` otherwise.
  case leakyReLU(Float)
  /// `s'(m) = sigmoid(β·m)`, the derivative of `softplus(β·m)/β`.
  case softplus(Float)

  @inline(__always)
  public func derivative(_ m: Float) -> Float {
    switch self {
    case .identity: return 1
    case .leakyReLU(let alpha): return m > 0 ? 1 : alpha
    case .softplus(let beta): return 1 / (1 + expf(-beta * m))
    }
  }

  /// `s'(m)` for `m ≤ 0` when it is constant there (identity: 1, leaky: α), else nil.
  public var negativeSlope: Float? {
    switch self {
    case .identity: return 1
    case .leakyReLU(let alpha): return alpha
    case .softplus: return nil
    }
  }

  /// Parses `identity`, `leaky-relu[:α]`, `softplus[:β]` (defaults α = 0.1, β = 1).
  public init?(parsing text: String) {
    let parts = text.lowercased().split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let argument = parts.count > 1 ? Float(parts[1]) : nil
    if parts.count > 1 && (argument == nil || !(argument!.isFinite) || argument! <= 0) { return nil }
    switch parts[0] {
    case "identity", "linear":
      guard parts.count == 1 else { return nil }
      self = .identity
    case "leaky-relu", "leakyrelu": self = .leakyReLU(argument ?? 0.1)
    case "softplus": self = .softplus(argument ?? 1)
    default: return nil
    }
  }

  public var description: String {
    switch self {
    case .identity: return "identity"
    case .leakyReLU(let a): return "leaky-relu:\(a)"
    case .softplus(let b): return "softplus:\(b)"
    }
  }
}

/// Every switch of METHOD.md, with METHOD's defaults.
public struct AutoPruneOptions: Equatable, Sendable {
  public enum Sensitivity: String, Sendable, CaseIterable { case sign, magnitude }
  public enum MaskedWeights: String, Sendable, CaseIterable { case recoverable, frozen }
  public enum ClosedGateDecay: String, Sendable, CaseIterable { case skip, apply }
  public enum PenaltyWeighting: String, Sendable, CaseIterable { case count, params, flops }
  public enum MuScale: String, Sendable, CaseIterable { case absolute, gradientRelative = "gradient-relative" }
  /// Which terms of the auxiliary gradient the STE multiplies. METHOD.md: both. `penaltyOnly`
  /// is an extension for the STE ablation (see `AutoPruneGate`).
  public enum STEScope: String, Sendable, CaseIterable { case both, penaltyOnly = "penalty-only" }

  /// Regularisation strength `μ` of `R_M`.
  public var mu: Float = 1e-4
  /// Learning rate `η_M` of the auxiliary parameters (plain SGD).
  public var etaM: Float = 10
  /// Initial value of every auxiliary parameter (positive: all gates open).
  public var m0: Float = 1
  /// METHOD's "small random positive" start: each m drawn from U(m0·(1−spread), m0·(1+spread))
  /// with `m0Seed` (0: every m starts at m0).
  public var m0Spread: Float = 0
  public var m0Seed: UInt64 = 1
  /// Momentum of the auxiliary parameters' own SGD (METHOD's default: plain SGD, 0).
  public var auxiliaryMomentum: Float = 0
  public var ste = STE.leakyReLU(0.1)
  public var steScope = STEScope.both
  public var sensitivity = Sensitivity.sign
  /// When off, the data term drops its `sgn(w)` coupling and uses `g` alone, so a gate no
  /// longer moves with the direction gradient descent moves `|w|`.
  public var correlationConsistency = true
  public var maskedWeights = MaskedWeights.recoverable
  public var weightDecayOnClosedGates = ClosedGateDecay.skip
  public var penaltyWeighting = PenaltyWeighting.count
  public var muScale = MuScale.absolute
  /// When set, μ is adapted so the kept fraction of weights (or FLOPs) approaches this value.
  public var targetKeptFraction: Float?
  public var targetIsFLOPs = false
  /// With a target: freeze every gate the first time the kept fraction reaches it, so W trains
  /// on under fixed masks for the rest of the pruning phase. Without it μ only stops rising, and
  /// gates already on their way down keep closing: where the data term is weak against the
  /// penalty (filters before BatchNorm) the kept fraction overshoots far below the target.
  public var freezeAtTarget = false

  public init() {}
}
