import AutoPruneNN

/// What the built-in pruning methods are built from; each method reads the settings it uses
/// and ignores the others (the command line refuses a flag its method would ignore).
public struct PruningSettings: Sendable {
  /// AutoPrune's switches (METHOD.md), the phase clock's defaults.
  public var autoprune = AutoPruneOptions()
  /// AutoPrune and L0: gates per weight or per unit.
  public var granularity = Granularity.weight
  /// AutoPrune: gates chosen per layer instead of `granularity`.
  public var gatePlan: GatePlan?
  /// The fraction of weights pruned, for the methods that take a target sparsity.
  public var sparsity: Float?
  /// Pruning-phase epochs: iterative magnitude prunes one round per epoch, gradual magnitude
  /// spreads its schedule over all but the last.
  public var pruneEpochs = 10
  /// Random pruning's seed.
  public var seed: UInt64 = 1
  /// Scratch training: the pruned model whose masks are retrained from random weights.
  public var masksFrom: String?
  /// Targeted dropout: probability of dropping a candidate each step.
  public var targetedDropRate: Float = 0.5
  /// L0: weight λ of the expected number of open gates in the loss.
  public var l0Lambda: Float = 1e-4
  /// L0: Adam's learning rate of log α (`--mask-lr`).
  public var l0LearningRate: Float = 1e-2
  /// DNS: threshold t = mean|w| + c·std|w| per layer.
  public var dnsC: Float = 0

  /// The defaults: AutoPrune on the phase clock, weight gates, 10 pruning epochs, no sparsity.
  public init() {}
}

/// The pruning methods by name, the names `autoprune prune --method` takes: AutoPrune and
/// every baseline, plus any a caller registers.
///
/// ```swift
/// var settings = PruningSettings()
/// settings.sparsity = 0.95
/// let method = try PruningMethodRegistry.standard.make("gradual", model: model, settings: settings)
/// ```
public struct PruningMethodRegistry: Sendable {
  /// One method: its name, a line of help, whether it needs `settings.sparsity`, and how to
  /// build it on a model.
  public struct Entry: Sendable {
    /// What `--method` takes and the saved file and summary record.
    public var name: String
    /// One line saying what the method is, for listings.
    public var help: String
    /// True when `make` reads `settings.sparsity`: the registry then refuses a missing one, or one
    /// outside (0, 1), before building.
    public var needsSparsity: Bool
    /// Builds the method on a model, attaching its gates.
    public var make: @Sendable (Model, PruningSettings) throws -> any PruningMethod

    /// An entry; `needsSparsity` defaults to false.
    public init(
      name: String, help: String, needsSparsity: Bool = false, make: @escaping @Sendable (Model, PruningSettings) throws -> any PruningMethod
    ) {
      self.name = name
      self.help = help
      self.needsSparsity = needsSparsity
      self.make = make
    }
  }

  /// The methods, in registration order (a replaced one moves to the end).
  public private(set) var entries: [Entry]

  /// A registry of `entries`; `standard` holds the built-in methods.
  public init(_ entries: [Entry] = []) { self.entries = entries }

  /// Adds a method, or replaces the one of the same name.
  public mutating func register(_ entry: Entry) {
    entries.removeAll { $0.name == entry.name }
    entries.append(entry)
  }

  /// Names in registration order.
  public var names: [String] { entries.map(\.name) }

  /// The entry named `name`, or an error listing the known names.
  public func entry(named name: String) throws -> Entry {
    guard let entry = entries.first(where: { $0.name == name }) else {
      throw PruningMethodError("unknown method \(name) (known: \(names.joined(separator: ", ")))")
    }
    return entry
  }

  /// Builds method `name` on `model` (gates attached), checking the sparsity it needs.
  public func make(_ name: String, model: Model, settings: PruningSettings) throws -> any PruningMethod {
    let entry = try entry(named: name)
    if entry.needsSparsity {
      guard let sparsity = settings.sparsity else { throw PruningMethodError("method \(name) needs a sparsity (the fraction of weights pruned)") }
      guard sparsity > 0 && sparsity < 1 else { throw PruningMethodError("sparsity must be in (0, 1) (got \(sparsity))") }
    }
    return try entry.make(model, settings)
  }

  /// AutoPrune and the paper's baselines.
  public static let standard = PruningMethodRegistry([
    Entry(name: "autoprune", help: "AutoPrune: auxiliary gate parameters trained with their own loss (METHOD.md)") { model, s in
      if let problem = s.autoprune.problem { throw PruningMethodError("autoprune: \(problem)") }
      if let plan = s.gatePlan {
        if plan.axes.values.allSatisfy(\.isEmpty) { throw PruningMethodError("autoprune: the gate plan gates no layer") }
        try plan.check(against: model)
        return AutoPrunePruning(network: model.network, inputShape: model.inputShape, plan: plan.axes, options: s.autoprune)
      }
      return AutoPrunePruning(model: model, granularity: s.granularity, options: s.autoprune)
    },
    Entry(name: "magnitude", help: "one-shot global magnitude pruning, then training with the mask", needsSparsity: true) { model, s in
      MagnitudeBaseline(model: model, kind: .oneShot(.global), targetSparsity: s.sparsity!)
    },
    Entry(name: "magnitude-layerwise", help: "one-shot magnitude pruning, the same fraction of every layer", needsSparsity: true) { model, s in
      MagnitudeBaseline(model: model, kind: .oneShot(.layerwise), targetSparsity: s.sparsity!)
    },
    Entry(name: "iterative", help: "Han et al.: one magnitude round per pruning epoch", needsSparsity: true) { model, s in
      MagnitudeBaseline(model: model, kind: .iterative(rounds: max(1, s.pruneEpochs)), targetSparsity: s.sparsity!)
    },
    Entry(name: "gradual", help: "Zhu & Gupta: cubic sparsity schedule, global magnitude", needsSparsity: true) { model, s in
      MagnitudeBaseline(model: model, kind: .gradual(updatesPerEpoch: 10, epochs: max(1, s.pruneEpochs - 1)), targetSparsity: s.sparsity!)
    },
    Entry(name: "dns", help: "dynamic network surgery: cut and splice around a per-layer threshold") { model, s in
      DynamicNetworkSurgery(model: model, c: s.dnsC)
    },
    Entry(name: "random", help: "random masks at the sparsity, per layer (a floor)", needsSparsity: true) { model, s in
      MagnitudeBaseline(model: model, kind: .random(seed: s.seed), targetSparsity: s.sparsity!)
    },
    Entry(name: "scratch", help: "a pruned model's masks (--masks) retrained from random weights") { model, s in
      guard let source = s.masksFrom else { throw PruningMethodError("method scratch needs the pruned model whose masks it retrains") }
      return try ScratchBaseline(model: model, maskFile: source)
    },
    Entry(name: "l0", help: "L0 regularisation with hard-concrete gates (weight or unit)") { model, s in
      L0Pruning(model: model, perUnit: s.granularity == .unit, lambda: s.l0Lambda, learningRate: s.l0LearningRate)
    },
    Entry(name: "targeted-dropout", help: "targeted dropout, pruned at the end of the pruning phase", needsSparsity: true) { model, s in
      TargetedDropout(model: model, targetFraction: s.sparsity!, dropRate: s.targetedDropRate)
    },
  ])
}

/// A method that cannot be built as asked.
public struct PruningMethodError: Error, CustomStringConvertible, Equatable {
  public let description: String
  /// An error with the message `description`.
  public init(_ description: String) { self.description = description }
}
