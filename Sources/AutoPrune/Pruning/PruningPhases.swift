import AutoPruneNN

/// The phases after the dense model, shared by `prune` and `demo`: joint W/M training with the
/// method's hooks at a constant learning rate, then the masks become final (`freeze`) and W is
/// fine-tuned with a cosine schedule.
public enum PruningPhases {
  /// `prune`: W and the method train jointly; `finetune`: masks frozen, W alone. The raw values
  /// name the checkpoint stages and the run log's `phase`.
  public enum Phase: String, Sendable { case prune, finetune }

  /// Runs both phases; `onEpoch` sees each epoch's report with its phase.
  /// - Parameters:
  ///   - model: the model being pruned (gates already attached by `method`).
  ///   - method: the pruning method; its hooks run in the pruning phase, `freeze` between phases.
  ///   - pruneEpochs: epochs of joint W/M training (at least 1).
  ///   - finetuneEpochs: epochs of W alone with the masks frozen (0 skips fine-tuning).
  ///   - learningRate: W's learning rate in both phases (constant, then cosine to 0).
  ///   - train: training images; their count sets the steps per epoch and the phase clock.
  ///   - test: evaluated after every epoch.
  ///   - normalization: applied to every batch.
  ///   - rng: shuffling and stochastic gates; checkpointed with the phase.
  ///   - onEpoch: sees each epoch's report with its phase (before its checkpoint).
  ///   - config: the run's training settings (seed, optimizer, batch size); epochs, learning
  ///     rate and schedule are set here per phase.
  ///   - session: checkpoints (stages `prune` and `finetune`) and where a resumed run starts;
  ///     it captures the model, the method, the phase's optimizer and `rng`.
  @discardableResult
  public static func run(
    model: Model, method: any PruningMethod, config: TrainingConfig, pruneEpochs: Int, finetuneEpochs: Int,
    learningRate: Float, train: any LabelledImages, test: any LabelledImages, normalization: Normalization, rng: RandomSource,
    session: CheckpointSession? = nil,
    onEpoch: (Phase, EpochReport) throws -> Void = { _, _ in }
  ) throws -> (prune: [EpochReport], finetune: [EpochReport]) {
    var phaseConfig = config
    phaseConfig.epochs = pruneEpochs
    phaseConfig.learningRate = learningRate
    phaseConfig.schedule = .constant
    method.willStartPhase(steps: pruneEpochs * Batcher(count: train.count, batchSize: config.batchSize).batchesPerEpoch)
    if let restored = session?.restoredState(atOrAfter: Phase.prune.rawValue) {
      try method.restore(from: restored, prefix: "method")
    }
    func phase(_ phase: Phase, config: TrainingConfig, hooks: Bool) throws -> [EpochReport] {
      let start = try session?.start(of: phase.rawValue, samples: train.count) ?? .fresh
      if start == .skip { return [] }
      let trainer = Trainer(model: model, config: config, normalization: normalization, rng: rng)
      var position: TrainingPosition?
      if case .resume(let p) = start, let restored = session?.resumed {
        try restored.restore(trainer.optimizer, from: "optimizer", parameters: model.parameters)
        position = p
      }
      session?.begin(phase.rawValue) { state in
        state.put(parameters: model.parameters)
        state.put(buffers: model.buffers)
        method.save(into: &state, prefix: "method")
        state.put("optimizer", optimizer: trainer.optimizer)
        state.put("rng", rng: rng)
      }
      return try trainer.fit(
        train: train, test: test, afterBackward: method.afterBackward, beforeEpoch: hooks ? method.willStartEpoch : nil,
        onEpoch: { report in
          try onEpoch(phase, report)
          try session?.epochDone(report)
        }, resume: position, afterStep: session.map { s in { try s.stepDone($0) } })
    }
    let prune = try phase(.prune, config: phaseConfig, hooks: true)
    // The pruning phase ends here: masks become final (targeted dropout prunes now). A run
    // resumed inside fine-tuning restored the final masks instead.
    if try session?.start(of: Phase.finetune.rawValue, samples: train.count) ?? .fresh == .fresh { method.freeze() }
    guard finetuneEpochs > 0 else { return (prune, []) }
    phaseConfig.epochs = finetuneEpochs
    phaseConfig.schedule = .cosine
    let finetune = try phase(.finetune, config: phaseConfig, hooks: false)
    return (prune, finetune)
  }
}
