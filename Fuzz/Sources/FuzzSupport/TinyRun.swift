import AutoPrune
import AutoPruneNN

/// The run the checkpoint harness resumes, and MakeCorpus checkpoints: a few tiny parameters
/// (a real model's weights would not fit libFuzzer's input size) over three stages with the
/// names `train` and `prune` use, so every branch of `CheckpointSession.start` is reachable.
public enum TinyRun {
  public static let samples = 8
  public static let stepsPerEpoch = 2
  public static let stages: [(name: String, epochs: Int)] = [("dense", 3), ("prune", 2), ("finetune", 1)]
  /// What the checkpoints store as the command's arguments.
  public static let arguments = ["train", "--model", "lenet300", "--epochs", "3", "--batch-size", "4"]
  /// `log.jsonl` as the resumed run finds it: longer than the log of MakeCorpus's checkpoints
  /// (so their `log_bytes` cut it), in lines a real run writes.
  public static let log = Array(
    (1...4).map {
      #"{"elapsed_seconds":\#($0).5,"epoch":\#($0),"loss":0.5,"phase":"dense","test_accuracy":0.8}"# + "\n"
    }.joined().utf8)

  /// Fresh parameters, in the shapes of a small dense layer.
  public static func parameters() -> [Parameter] {
    [
      Parameter(
        name: "fc1.weight", value: Tensor(shape: [2, 3], values: [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]), prunable: true),
      Parameter(name: "fc1.bias", value: Tensor(shape: [2], values: [0, 0.1]), prunable: false),
    ]
  }

  /// A BatchNorm running mean, so buffer restores are reached too.
  public static func buffers() -> [Buffer] {
    [Buffer(name: "bn1.running_mean", value: Tensor(shape: [2], values: [0, 0]))]
  }

  /// The optimizer the run trains with (momentum, so its buffers are in the checkpoint).
  public static func optimizer() -> SGD { SGD(learningRate: 0.05, momentum: 0.9) }
}
