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

  /// `s'(m)`, the factor that stands in for `h'(m)` in the auxiliary gradient.
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

/// Every switch of METHOD.md. The defaults are the phase clock's (sizes set from the pruning
/// phase's step count, μ relative to the network's gradient scale); `stepClock` gives the paper's
/// per-step rule with METHOD's original numbers (μ 1e-4 absolute, η_M 10).
public struct AutoPruneOptions: Equatable, Sendable {
  /// The data term's factor per weight: `sgn(w)` (`sign`, METHOD's sensitivity consistency: a
  /// gate's speed does not depend on its weight's size) or `w` (`magnitude`, the ablation).
  public enum Sensitivity: String, Sendable, CaseIterable { case sign, magnitude }
  /// The weight gradient under a closed gate: `g` (`recoverable`, METHOD's default: a pruned
  /// weight keeps learning, so it is still useful when its gate reopens) or `g·h(m)` (`frozen`,
  /// plain chain rule, the ablation).
  public enum MaskedWeights: String, Sendable, CaseIterable { case recoverable, frozen }
  /// Whether W's weight decay reaches weights under a closed gate: `skip` (default: decay would
  /// only shrink a masked weight and destroy its recoverability) or `apply` (the ablation).
  public enum ClosedGateDecay: String, Sendable, CaseIterable { case skip, apply }
  /// What one gate adds to `R_M`: 1 (`count`, METHOD's `Σ h(m)`), the weights it covers
  /// (`params`), or the multiply-adds it removes (`flops`, to pursue a FLOPs target).
  public enum PenaltyWeighting: String, Sendable, CaseIterable { case count, params, flops }
  /// The data term of a unit gate on a layer a BatchNorm follows. The filter's own,
  /// `Σ g·coupling(w)` (`filter`, METHOD's), is about zero there: BatchNorm undoes any scaling
  /// of a filter, so the loss does not change along it and the gates walk down together on the
  /// penalty alone. `batchNorm` uses the channel after normalisation instead,
  /// `g_γ·coupling(γ) + g_β·coupling(β)`: the loss's slope along scaling the channel's output
  /// (its Taylor importance). A closed channel gets no γ/β gradient, so a gate closed this way
  /// reopens only by the STE's leak, not by its data term.
  public enum UnitDataTerm: String, Sendable, CaseIterable { case filter, batchNorm = "batchnorm" }
  /// What μ is measured in: gradient units (`absolute`, METHOD's), the layer's own gradient
  /// scale (`gradientRelative`: every layer prunes its own below-average gates alike), or the
  /// whole network's (`networkRelative`: one threshold for all layers, as with an absolute μ,
  /// but free of the loss's and the data's gradient scale).
  public enum MuScale: String, Sendable, CaseIterable {
    case absolute, gradientRelative = "gradient-relative", networkRelative = "network-relative"
  }
  /// Which terms of the auxiliary gradient the STE multiplies. METHOD.md: both. `penaltyOnly`
  /// is an extension for the STE ablation (see `AutoPruneGate`).
  public enum STEScope: String, Sendable, CaseIterable { case both, penaltyOnly = "penalty-only" }
  /// What sets the size of a gate's step.
  ///
  /// - `phase`: η_M is derived so that, at the starting μ, the penalty alone moves a gate by
  ///   `travel · m0` over the pruning phase (`phaseSteps`; with a target, over the part before
  ///   `budgetBy`: `travelOverPhase`), divided by the scale unless μ is absolute (the network's
  ///   or the layer's, see `MuScale`). A gate with no data signal then closes at the same
  ///   fraction of the phase whatever the data set's size, and μ is a threshold: with the
  ///   default travel of 2 a gate stays open when its average data term pulls it open by more
  ///   than μ/2 of the scale. A budget (`targetKeptFraction`) follows a schedule that reaches
  ///   it at `budgetBy` of the phase, lands as close to it as the gates allow, and freezes.
  /// - `step`: METHOD's rule with `etaM` as given, and μ adapted by 2% every 20 steps toward a
  ///   target (the reproduction recipes' behaviour).
  public enum GateClock: String, Sendable, CaseIterable { case phase, step }

  /// Regularisation strength `μ` of `R_M`: in units of the network scale (the geometric mean
  /// of the layers' mean |data term| per gate) with `networkRelative` (the default), of the
  /// layer's own with `gradientRelative`, in gradient units with `absolute`.
  public var mu: Float = AutoPruneOptions.defaultRelativeMu
  /// Learning rate `η_M` of the auxiliary parameters (plain SGD) on the step clock; on the
  /// phase clock it is derived (see `GateClock.phase`) and this is used only until the phase's
  /// step count is known.
  public var etaM: Float = 10
  /// Initial value of every auxiliary parameter (positive: all gates open).
  public var m0: Float = 1
  /// METHOD's "small random positive" start: each m drawn from U(m0·(1−spread), m0·(1+spread))
  /// with `m0Seed` (0: every m starts at m0).
  public var m0Spread: Float = 0
  /// Seed of the random start (`m0Spread > 0`); `PruningRun.prune` sets it to the run's seed.
  public var m0Seed: UInt64 = 1
  /// Momentum of the auxiliary parameters' own SGD (METHOD's default: plain SGD, 0).
  public var auxiliaryMomentum: Float = 0
  /// `s'(m)`; default leaky-ReLU with α = 0.1, METHOD's (see `AutoPruneGate` on what the STE
  /// changes under each `steScope`).
  public var ste = STE.leakyReLU(0.1)
  /// Which terms `s'(m)` multiplies (default `both`, METHOD's formula).
  public var steScope = STEScope.both
  /// `sign` (default) or `magnitude`; see `Sensitivity`.
  public var sensitivity = Sensitivity.sign
  /// When off, the data term drops its `sgn(w)` coupling and uses `g` alone, so a gate no
  /// longer moves with the direction gradient descent moves `|w|`.
  public var correlationConsistency = true
  /// `recoverable` (default) or `frozen`; see `MaskedWeights`.
  public var maskedWeights = MaskedWeights.recoverable
  /// `skip` (default) or `apply`; see `ClosedGateDecay`.
  public var weightDecayOnClosedGates = ClosedGateDecay.skip
  /// `count` (default) or a charge by `params` or `flops`; see `PenaltyWeighting`.
  public var penaltyWeighting = PenaltyWeighting.count
  /// Default `batchNorm` (applies only where a BatchNorm follows the layer; elsewhere the filter
  /// term is used): on MobileNetV2 and ResNet-18 at half the FLOPs the two gave the same accuracy
  /// within noise, and only the channel term gave a MobileNetV2 whose thinned form runs in
  /// proportion to its FLOPs (docs/pruning.md); see `UnitDataTerm`.
  public var unitDataTerm = UnitDataTerm.batchNorm
  /// Default `networkRelative`, so one μ serves layers and models whose gradients differ in size.
  public var muScale = MuScale.networkRelative
  /// Default `phase`: gate steps sized from the pruning phase's length; see `GateClock`.
  public var clock = GateClock.phase
  /// Phase clock: how far, in units of m0, the penalty alone moves a gate over the pruning
  /// phase at the starting μ (2: a gate with no data signal closes half-way); with a target,
  /// over the part of the phase before the masks freeze (`travelOverPhase`).
  public var travel: Float = 2
  /// The travel over the whole phase that gives `travel` by the time the gates stop moving:
  /// with a target they freeze at `budgetBy` of the phase, so they must move `1/budgetBy` times
  /// faster. Measured on LeNet-300-100 (full Fashion-MNIST, target 97%, 3 seeds): landing with
  /// travel 2 spread over the whole phase cost 1.25 points, against 0.82 with it before the deadline.
  public var travelOverPhase: Float { targetKeptFraction == nil ? travel : travel / budgetBy }
  /// Phase clock: the pruning phase's number of steps (set by `AutoPrunePruning.willStartPhase`).
  public var phaseSteps = 0
  /// Phase clock with a target: the fraction of the pruning phase by which the target is
  /// reached exactly and the masks freeze (W trains on under them for the rest).
  public var budgetBy: Float = 0.5
  /// Density feedback γ: each layer's penalty is multiplied by `keptFraction^γ` (the layer's
  /// weights whose mask is 1). 0 (default) is METHOD's constant penalty. With γ > 0 a layer that
  /// has thinned is pushed less, so the gates settle where the data term of what is left meets a
  /// weaker penalty, and compression grows more slowly with μ: LeNet-300-100 with γ 1 moved ×2 per
  /// ×3 of μ on both data sizes, against ×4.4–6 without (docs/pruning.md, "Density feedback").
  public var densityFeedback: Float = 0
  /// When set, μ is adapted so the kept fraction of weights (or FLOPs) approaches this value.
  public var targetKeptFraction: Float?
  /// The target counts multiply-adds kept (`flopsFraction`) instead of weights kept.
  public var targetIsFLOPs = false
  /// Step clock with a target: freeze every gate the first time the kept fraction reaches it,
  /// so W trains on under fixed masks for the rest of the pruning phase. Without it μ only
  /// stops rising, and gates already on their way down keep closing: where the data term is
  /// weak against the penalty (filters before BatchNorm) the kept fraction overshoots far
  /// below the target. (The phase clock always lands on the target and freezes.)
  public var freezeAtTarget = false

  /// The first setting out of its range, in words (nil when all are usable): what the
  /// command line checks flag by flag, for callers building options in code.
  public var problem: String? {
    if !(mu >= 0 && mu.isFinite) { return "μ must be a finite number ≥ 0 (got \(mu))" }
    if clock == .phase && mu == 0 { return "μ 0 on the phase clock prunes nothing (μ sets its step size)" }
    if !(etaM > 0 && etaM.isFinite) { return "η_M must be positive (got \(etaM))" }
    if !(m0 > 0 && m0.isFinite) { return "m0 must be positive so gates start open (got \(m0))" }
    if !(m0Spread >= 0 && m0Spread < 1) { return "the m0 spread must be in [0, 1) (got \(m0Spread))" }
    if !(auxiliaryMomentum >= 0 && auxiliaryMomentum < 1) { return "the auxiliary momentum must be in [0, 1) (got \(auxiliaryMomentum))" }
    if !(travel > 0 && travel.isFinite) { return "the travel must be positive (got \(travel))" }
    if !(budgetBy > 0 && budgetBy <= 1) { return "budgetBy must be in (0, 1] (got \(budgetBy))" }
    if !(densityFeedback >= 0 && densityFeedback <= 4) { return "the density feedback must be in [0, 4] (got \(densityFeedback))" }
    if let t = targetKeptFraction, !(t > 0 && t < 1) { return "the target kept fraction must be in (0, 1) (got \(t))" }
    return nil
  }

  /// The phase clock's default μ (network-relative), chosen by measurement (docs/pruning.md).
  public static let defaultRelativeMu: Float = 0.07
  /// METHOD's original absolute μ for the step clock.
  public static let defaultAbsoluteMu: Float = 1e-4

  /// The phase clock's defaults (see the properties); `stepClock` gives METHOD's per-step rule.
  public init() {}

  /// The paper's per-step rule with METHOD's original defaults (μ 1e-4 absolute, η_M 10).
  public static var stepClock: AutoPruneOptions {
    var o = AutoPruneOptions()
    o.clock = .step
    o.muScale = .absolute
    o.mu = defaultAbsoluteMu
    return o
  }

  /// True when gate steps are sized from the phase (phase clock with a known step count).
  public var usesPhaseClock: Bool { clock == .phase && phaseSteps > 0 }
}
