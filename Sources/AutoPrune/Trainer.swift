import AutoPruneKernels
import AutoPruneNN
import Foundation

/// Which optimizer a run uses.
public enum OptimizerKind: String, CaseIterable, Codable, Sendable {
  case sgd, adam
}

/// Which learning-rate schedule a run uses.
public enum ScheduleKind: String, CaseIterable, Codable, Sendable {
  case constant, step, cosine
}

/// Hyper-parameters of dense training.
public struct TrainingConfig: Codable, Equatable, Sendable {
  /// Epochs of dense training (default 10); also the cosine schedule's length.
  public var epochs = 10
  /// Samples per optimizer step (default 100, METHOD.md's measured setting); an epoch's last
  /// batch holds the remainder.
  public var batchSize = 100
  /// SGD with momentum (default) or Adam.
  public var optimizer = OptimizerKind.sgd
  /// Initial learning rate of W (default 0.05 for SGD; Adam wants about 1e-3, see
  /// `defaultLearningRate(for:)`).
  public var learningRate: Float = 0.05
  /// SGD's momentum (default 0.9); Adam ignores it.
  public var momentum: Float = 0.9
  /// Nesterov momentum for SGD (default off); Adam ignores it.
  public var nesterov = false
  /// L2 weight decay λ added to every parameter's gradient (default 0: METHOD.md's `R_W =
  /// none`); AutoPrune's gates keep it off closed weights unless `weightDecayOnClosedGates` is
  /// `apply`.
  public var weightDecay: Float = 0
  /// How the learning rate changes over `epochs` (default cosine, down to 0).
  public var schedule = ScheduleKind.cosine
  /// For `.step`: multiply the rate by `stepGamma` every `stepEvery` epochs.
  public var stepEvery = 5
  /// For `.step`: the factor applied every `stepEvery` epochs (default 0.1).
  public var stepGamma: Float = 0.1
  /// Seeds the run's RNG (default 1): initialisation when the run builds the model, shuffling,
  /// dropout, and the pruning methods' random choices.
  public var seed: UInt64 = 1
  /// Random crop + flip of every training batch (CIFAR training); nil trains on the images as
  /// they are.
  public var augmentation: Augmentation?

  /// The defaults: SGD with momentum 0.9, learning rate 0.05 on a cosine schedule, 10 epochs of
  /// batches of 100, no weight decay, no augmentation, seed 1.
  public init() {}

  /// Default learning rate for an optimizer (SGD with momentum: 0.05; Adam: 1e-3).
  public static func defaultLearningRate(for optimizer: OptimizerKind) -> Float {
    optimizer == .sgd ? 0.05 : 1e-3
  }

  /// The schedule `schedule` names, built from `learningRate`, `epochs`, `stepEvery` and `stepGamma`.
  public var learningRateSchedule: LearningRateSchedule {
    switch schedule {
    case .constant: return .constant(learningRate)
    case .step: return .step(base: learningRate, every: stepEvery, gamma: stepGamma)
    case .cosine: return .cosine(base: learningRate, totalEpochs: epochs, minimum: 0)
    }
  }

  /// A new optimizer of W with these settings and no state (each phase makes its own).
  public func makeOptimizer() -> any Optimizer {
    switch optimizer {
    case .sgd: return SGD(learningRate: learningRate, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
    case .adam: return Adam(learningRate: learningRate, weightDecay: weightDecay)
    }
  }
}

/// One epoch's figures.
public struct EpochReport: Codable, Equatable, Sendable {
  /// 1-based epoch within the `fit` call (the phase).
  public var epoch: Int
  /// Learning rate of W during the epoch.
  public var learningRate: Float
  /// Mean training loss per sample over the epoch, each batch's taken as the weights were at its step.
  public var trainLoss: Float
  /// Fraction in [0, 1] of training samples classified correctly during the epoch (augmentation,
  /// dropout and stochastic gates active).
  public var trainAccuracy: Float
  /// Mean test loss per sample after the epoch, in inference mode.
  public var testLoss: Float
  /// Fraction in [0, 1] of test samples classified correctly after the epoch.
  public var testAccuracy: Float
  /// Training seconds of the epoch, evaluation excluded; a resumed epoch includes the time spent
  /// before the interruption.
  public var seconds: Double
}

/// Accuracy and mean loss on a dataset.
public struct Evaluation: Codable, Equatable, Sendable {
  /// Mean softmax cross-entropy per sample.
  public var loss: Float
  /// Top-1 accuracy, a fraction in [0, 1].
  public var accuracy: Float
}

/// Where a `fit` stands, for checkpoints: epoch (0-based), steps done in it, that epoch's sample
/// order and running sums. A position with `step == 0` is the start of `epoch`, before its
/// order is drawn.
public struct TrainingPosition: Equatable, Sendable {
  /// 0-based epoch being trained.
  public var epoch: Int
  /// Optimizer steps done in `epoch`.
  public var step: Int
  /// The epoch's shuffled sample indices (empty before they are drawn).
  public var order: [Int]
  /// Per-sample losses summed over the steps done (batch mean × batch size), for the epoch's mean.
  public var lossSum: Double
  /// Training samples classified correctly so far in the epoch.
  public var correct: Int
  /// Training seconds already spent in this epoch.
  public var seconds: Double

  /// A position `step` steps into `epoch`; the defaults give the epoch's start.
  public init(epoch: Int, step: Int = 0, order: [Int] = [], lossSum: Double = 0, correct: Int = 0, seconds: Double = 0) {
    self.epoch = epoch
    self.step = step
    self.order = order
    self.lossSum = lossSum
    self.correct = correct
    self.seconds = seconds
  }
}

/// A run that stopped because numbers stopped being numbers.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
  /// `epoch` and `step` are 1-based (both 0 when `Trainer.step` throws: its caller knows where
  /// it was); `what` names the value that stopped being finite.
  case diverged(epoch: Int, step: Int, what: String)

  public var description: String {
    switch self {
    case .diverged(0, 0, let what):
      return "diverged: \(what); lower the learning rate"
    case .diverged(let e, let s, let what):
      return "diverged at epoch \(e), step \(s): \(what); lower the learning rate (the last checkpoint, if any, is from before this)"
    }
  }
}

/// Runs dense training epochs: shuffled mini-batches, forward, loss, backward, optimizer step.
public final class Trainer {
  /// The model trained, in place.
  public let model: Model
  /// The settings; `fit` runs `config.epochs` epochs.
  public let config: TrainingConfig
  /// Applied to every batch before the forward pass (the run's: fitted to the training set, or
  /// the one a weights file stores).
  public let normalization: Normalization
  /// Shuffling, augmentation, dropout and stochastic gates draw from it.
  public let rng: RandomSource
  /// W's optimizer, made from `config`: `fit` sets its learning rate each epoch, and checkpoints
  /// save and restore its state.
  public let optimizer: any Optimizer
  /// Under an MPI job of several ranks (`mpirun`, `srun`): each rank trains on its share of
  /// every batch and the gradients are summed over the ranks; nil for one process.
  public var dataParallel: DataParallel?

  /// `rng` drives shuffling and dropout; seed it once per run for reproducible results.
  public init(model: Model, config: TrainingConfig, normalization: Normalization, rng: RandomSource) {
    self.model = model
    self.config = config
    self.normalization = normalization
    self.rng = rng
    optimizer = config.makeOptimizer()
    dataParallel = DataParallel(world: MPI.world)
    if let world = dataParallel?.world, DataParallel.synchronizesBatchNorm {
      let synchronizer = BatchNormSynchronizer(world: world)
      batchNormSynchronizer = synchronizer
      for bn in model.network.batchNorms { bn.reducer = synchronizer }
    }
  }

  /// Synchronised BatchNorm's reducer (nil unless `DataParallel.synchronizesBatchNorm` in a job).
  private var batchNormSynchronizer: BatchNormSynchronizer?
  /// Steps of `fit` so far counted from its first epoch (set before each of its steps, so a
  /// resumed run counts the same); seeds a rank's own random stream under MPI.
  private var globalStep = 0

  /// Trains for `config.epochs`, evaluating on `test` after each; `onEpoch` sees each report.
  /// `afterBackward` runs between each backward pass and the optimizer step (pruning gates).
  ///
  /// - Parameters:
  ///   - train: the training set, shuffled each epoch with `rng`.
  ///   - test: evaluated (inference mode) after each epoch.
  ///   - afterBackward: runs between each backward pass and the optimizer step (a pruner's hook).
  ///   - beforeEpoch: runs before each epoch's order is drawn, with the 0-based epoch and the
  ///     steps an epoch has (a pruning schedule's hook).
  ///   - onEpoch: sees each epoch's report.
  ///   - resume: go on from this position (restore the model, optimizer and RNG first);
  ///     `beforeEpoch` is not called again for an epoch already started.
  ///   - afterStep: sees the position after every optimizer step (checkpoints).
  /// - Throws: `TrainingError.diverged` when the loss or a parameter stops being finite (before
  ///   `afterStep` sees that step), or what `afterStep` throws.
  @discardableResult
  public func fit(
    train: any LabelledImages, test: any LabelledImages, afterBackward: (() -> Void)? = nil,
    beforeEpoch: ((_ epoch: Int, _ stepsPerEpoch: Int) -> Void)? = nil,
    onEpoch: (EpochReport) throws -> Void = { _ in },
    resume: TrainingPosition? = nil, afterStep: ((TrainingPosition) throws -> Void)? = nil
  ) throws -> [EpochReport] {
    let batcher = Batcher(count: train.count, batchSize: config.batchSize)
    let schedule = config.learningRateSchedule
    // Every rank starts from rank 0's weights (and BatchNorm statistics).
    dataParallel?.broadcast(model.parameters, buffers: model.buffers)
    let parallel = dataParallel
    var reports: [EpochReport] = []
    for epoch in (resume?.epoch ?? 0)..<config.epochs {
      optimizer.learningRate = schedule.rate(epoch: epoch)
      var position = TrainingPosition(epoch: epoch)
      if let resume, resume.epoch == epoch, resume.step > 0 {
        guard resume.order.count == train.count else {
          throw CheckpointError.wrongSize("checkpoint", entry: "position.order", expected: train.count, found: resume.order.count)
        }
        position = resume
      } else {
        beforeEpoch?(epoch, batcher.batchesPerEpoch)
        position.order = batcher.order(rng: rng)
      }
      let start = DispatchTime.now()
      let startSeconds = position.seconds
      try parallel?.checkIdentical(order: position.order)
      let batches = batcher.batches(of: position.order)
      if batchNormSynchronizer != nil, let size = parallel?.world.size, let small = batches.first(where: { $0.count < size }) {
        throw DataParallelError("--sync-batchnorm needs at least one sample per rank in every batch; a batch of this epoch holds \(small.count) for \(size) ranks (change --batch-size)")
      }
      let seed = config.seed, normalization = normalization
      let prefetcher = BatchPrefetcher(count: batches.count, ahead: train.prefetches) { k in
        try train.batch(parallel?.shard(batches[k]) ?? batches[k], normalization: normalization, seed: Trainer.batchSeed(seed, epoch: epoch, step: k))
      }
      for k in position.step..<batches.count {
        globalStep = epoch * batches.count + k
        let (images, labels) = try prefetcher.batch(k)
        let result: (loss: Float, correct: Int)
        do {
          result = try step(images: images, labels: labels, globalCount: batches[k].count, afterBackward: afterBackward)
        } catch TrainingError.diverged(_, _, let what) {
          throw TrainingError.diverged(epoch: epoch + 1, step: position.step + 1, what: what)
        }
        position.step += 1
        position.lossSum += Double(result.loss) * Double(batches[k].count)
        position.correct += result.correct
        if let afterStep {
          position.seconds = startSeconds + Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
          try afterStep(position)
        }
      }
      let lossSum = position.lossSum, correct = position.correct
      let seconds = startSeconds + Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
      // The methods see the same summed gradients on every rank: masks that differ are a bug.
      try parallel?.checkIdentical(model.parameters.compactMap { $0.gate?.mask(for: $0) }, what: "masks")
      let evaluation = try Trainer.evaluate(model, on: test, normalization: normalization)
      let report = EpochReport(
        epoch: epoch + 1, learningRate: optimizer.learningRate,
        trainLoss: Float(lossSum / Double(max(1, train.count))),
        trainAccuracy: Float(correct) / Float(max(1, train.count)), testLoss: evaluation.loss,
        testAccuracy: evaluation.accuracy, seconds: seconds)
      reports.append(report)
      try onEpoch(report)
    }
    return reports
  }

  /// One training step on a normalised batch `[N, C, H, W]`: the config's augmentation, gates
  /// prepared, forward, loss, backward, `afterBackward` (where a pruner hooks in: it sees the
  /// gradients before the optimizer does), optimizer step. Returns the batch's mean loss and
  /// its correct predictions, for a loop of one's own:
  ///
  /// ```swift
  /// for indices in Batcher(count: train.count, batchSize: 100).epoch(rng: rng) {
  ///   let (x, y) = train.batch(indices, normalization: normalization)
  ///   try trainer.step(images: x, labels: y, afterBackward: method.afterBackward)
  /// }
  /// ```
  /// - Throws: `TrainingError.diverged` (epoch and step 0: the caller knows them) when the loss
  ///   or a parameter stops being finite.
  /// Under `dataParallel`, `images` are this rank's share of a batch of `globalCount` samples:
  /// the gradients are summed over the ranks before `afterBackward`, and the loss and count
  /// returned are the whole batch's.
  @discardableResult
  public func step(images: Tensor, labels: [Int], globalCount: Int? = nil, afterBackward: (() -> Void)? = nil) throws -> (loss: Float, correct: Int) {
    var images = images
    let parameters = model.parameters
    for gate in model.network.gates { gate.prepare(training: true, rng: rng) }
    for p in parameters { p.zeroGrad() }
    var result = (loss: Float(0), correct: 0)
    batchNormSynchronizer?.share = Double(labels.count) / Double(max(1, globalCount ?? labels.count))
    // A rank whose share is empty (a last batch smaller than the job) adds zero gradients.
    if !labels.isEmpty {
      // Under MPI the ranks draw different numbers of values (their shares may differ), so
      // augmentation and dropout take a rank's own stream, derived from the seed, the rank and
      // the step (resumable, no state); `rng` (shuffling, stochastic gates) stays the same on
      // every rank.
      let draws = dataParallel.map {
        RandomSource(seed: Trainer.batchSeed(config.seed &+ UInt64($0.world.rank + 1) &* 0xA24B_AED4_963E_E407, epoch: 0, step: globalStep))
      } ?? rng
      config.augmentation?.apply(to: &images, fill: normalization.zeroPixel(images.shape[1]), rng: draws)
      let logits = model.network.forward(images, context: ForwardContext(training: true, rng: draws))
      let evaluated = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
      result = (evaluated.loss, evaluated.correct)
      if let dataParallel {
        dataParallel.beginGradients(local: labels.count, global: globalCount ?? labels.count)
        _ = model.network.backward(evaluated.dLogits, finished: dataParallel.gradientsFinished)
      } else {
        _ = model.network.backward(evaluated.dLogits)
      }
    } else {
      dataParallel?.beginGradients(local: 0, global: globalCount ?? 0)
    }
    if let dataParallel {
      let global = globalCount ?? labels.count
      // In the order the backward pass hands them over (last layer first), so a rank with an
      // empty share makes the same buckets.
      dataParallel.finishGradients(model.network.layers.reversed().flatMap { $0.layer.parameters })
      let sums = dataParallel.sum([Double(result.loss) * Double(labels.count), Double(result.correct)])
      result = (Float(sums[0] / Double(max(1, global))), Int(sums[1]))
    }
    // Checked on the whole batch's loss (every rank the same), so all ranks stop together.
    guard result.loss.isFinite else { throw TrainingError.diverged(epoch: 0, step: 0, what: "the loss is \(result.loss)") }
    afterBackward?()
    globalStep += 1
    optimizer.step(parameters)
    if let bad = parameters.first(where: { !$0.value.allFinite }) {
      throw TrainingError.diverged(epoch: 0, step: 0, what: "\(bad.name) has non-finite values after the update")
    }
    return result
  }

  /// The seed of batch `step` of `epoch`'s random transforms (image-folder crops): a function of
  /// the run's seed and the position alone, so batches can be made ahead and a resumed run
  /// makes the same ones.
  public static func batchSeed(_ seed: UInt64, epoch: Int, step: Int) -> UInt64 {
    var z = seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(step) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Loss and top-1 accuracy of `model` on `data`, in inference mode, batches of 1,000 (100
  /// when each image is decoded from a file).
  /// - Throws: what making a batch throws (an image folder that cannot be read).
  public static func evaluate(_ model: Model, on data: any LabelledImages, normalization: Normalization, batchSize: Int? = nil) throws -> Evaluation {
    for gate in model.network.gates { gate.prepare(training: false, rng: nil) }
    return try evaluate(on: data, normalization: normalization, batchSize: batchSize) { model.network.forward($0, context: .inference) }
  }

  /// Loss and top-1 accuracy of any inference function (a thinned or sparse network) on `data`.
  /// - Throws: what making a batch throws (an image folder that cannot be read).
  public static func evaluate(
    on data: any LabelledImages, normalization: Normalization, batchSize: Int? = nil, logits: (Tensor) -> Tensor
  ) throws -> Evaluation {
    var lossSum = 0.0
    var correct = 0
    // Under MPI each rank evaluates its share of every batch; the sums are added at the end.
    let parallel = DataParallel(world: MPI.world)
    let batches = Batcher(count: data.count, batchSize: batchSize ?? (data.prefetches ? 100 : 1000)).epoch(rng: nil)
    let prefetcher = BatchPrefetcher(count: batches.count, ahead: data.prefetches) { k in
      try data.batch(parallel?.shard(batches[k]) ?? batches[k], normalization: normalization, seed: 0)
    }
    for k in batches.indices {
      let (images, labels) = try prefetcher.batch(k)
      if labels.isEmpty { continue }
      let result = SoftmaxCrossEntropy.evaluate(logits: logits(images), labels: labels)
      lossSum += Double(result.loss) * Double(labels.count)
      correct += result.correct
    }
    if let parallel {
      let sums = parallel.sum([lossSum, Double(correct)])
      (lossSum, correct) = (sums[0], Int(sums[1]))
    }
    let n = Float(max(1, data.count))
    return Evaluation(loss: Float(lossSum) / n, accuracy: Float(correct) / n)
  }
}
