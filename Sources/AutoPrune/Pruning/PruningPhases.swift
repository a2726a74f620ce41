import AutoPruneNN

/// The phases after the dense model, shared by `prune` and `demo`: joint W/M training with the
/// method's hooks at a constant learning rate, then the masks become final (`freeze`) and W is
/// fine-tuned with a cosine schedule.
public enum PruningPhases {
  public enum Phase: String, Sendable { case prune, finetune }

  /// Runs both phases; `onEpoch` sees each epoch's report with its phase.
  /// - Parameter config: the run's training settings (seed, optimizer, batch size); epochs,
  ///   learning rate and schedule are set here per phase.
  public static func run(
    model: Model, method: any PruningMethod, config: TrainingConfig, pruneEpochs: Int, finetuneEpochs: Int,
    learningRate: Float, train: ImageDataset, test: ImageDataset, normalization: Normalization, rng: RandomSource,
    onEpoch: (Phase, EpochReport) -> Void = { _, _ in }
  ) -> (prune: [EpochReport], finetune: [EpochReport]) {
    var phaseConfig = config
    phaseConfig.epochs = pruneEpochs
    phaseConfig.learningRate = learningRate
    phaseConfig.schedule = .constant
    let prune = Trainer(model: model, config: phaseConfig, normalization: normalization, rng: rng).fit(
      train: train, test: test, afterBackward: method.afterBackward, beforeEpoch: method.willStartEpoch,
      onEpoch: { onEpoch(.prune, $0) })
    // The pruning phase ends here: masks become final (targeted dropout prunes now).
    method.freeze()
    guard finetuneEpochs > 0 else { return (prune, []) }
    phaseConfig.epochs = finetuneEpochs
    phaseConfig.schedule = .cosine
    let finetune = Trainer(model: model, config: phaseConfig, normalization: normalization, rng: rng).fit(
      train: train, test: test, afterBackward: method.afterBackward, onEpoch: { onEpoch(.finetune, $0) })
    return (prune, finetune)
  }
}
