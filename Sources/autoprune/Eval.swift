import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

struct Eval: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Evaluate saved weights on the test set.")

  @Option(help: "Model: \(ModelKind.names) (default: the model named in the weights file).")
  var model: ModelKind?

  @Option(help: "Weights file (.safetensors) written by train, or by PyTorch with the same names.")
  var weights: String

  @OptionGroup var dataOptions: DataOptions
  @OptionGroup var runOptions: RunOptions

  @Flag(help: "Evaluate the thinned network: dead neurons and filters removed (for unit-pruned models).")
  var thin = false

  @Flag(help: "Evaluate with the weight-pruned layers stored sparse (CSR).")
  var sparse = false

  @Option(help: "Also write the normalised test inputs, their logits and labels to this .safetensors file (interop checks).")
  var logitsOut: String?

  func validate() throws {
    if let logitsOut { try Output.checkWritableDestination(logitsOut, flag: "--logits-out", inputs: [("--weights", weights)] + dataOptions.inputFiles) }
    if thin && sparse { throw ValidationError("give --thin or --sparse, not both") }
  }

  func run() throws {
    runOptions.apply()
    guard let (net, stored) = try WeightsFile.loadModel(path: weights, kind: model) else {
      throw ValidationError("\(weights) does not name its model; pass --model (\(ModelKind.names))")
    }
    let form: InferenceForm = thin ? .thinned : sparse ? .sparse : .masked
    if form == .sparse && !net.isChain {
      throw ValidationError("--sparse does not support \(net.name) (its residual blocks would run dense); use --thin for filter-pruned models")
    }
    let (train, test, label) = try dataOptions.load(for: net)
    try WeightsFile.checkClassNames(path: weights, against: test)
    let normalization = try stored ?? Normalization.fitted(to: train.sample(limit: 2000))
    let deployed = try form.deploy(net)
    if form != .masked { print(deployed.description) }
    let start = DispatchTime.now()
    let result = try Trainer.evaluate(on: test, normalization: normalization, logits: deployed.forward)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    // Finite weights can still overflow (3e38 in a layer, a tiny stored std): an accuracy
    // computed from NaN logits means nothing.
    guard result.loss.isFinite else {
      throw Failure("\(weights): the model's outputs on \(label) are not finite (loss \(result.loss)): its weights or stored normalisation overflow")
    }
    if let logitsOut {
      let (images, labels) = try test.batch(Array(0..<test.count)[...], normalization: normalization, seed: 0)
      let logits = deployed.forward(images)
      try SafeTensors.write(
        [("inputs", images.shape, images.storage), ("logits", logits.shape, logits.storage), ("labels", [labels.count], labels.map(Float.init))],
        metadata: ["model": net.name, "form": form.rawValue, "weights": weights], to: logitsOut)
    }
    let pruned = net.parameters.contains { $0.gate != nil }
    let report = PruningReport(model: net)
    if pruned { print(report.table + "\n") }
    print("\(net.name) \(weights) (\(form.rawValue)) on \(label): test accuracy \(TextTable.percent(result.accuracy)), loss \(String(format: "%.4f", result.loss)) (\(test.count) images, \(String(format: "%.2f", seconds)) s)")
    guard runOptions.json else { return }
    var summary = RunSummary()
    summary.setPruning(report)
    Output.json([
      "command": "eval", "form": form.rawValue, "stored_weights": deployed.storedWeights, "model": net.name, "parameters": net.parameterCount, "pruned": pruned,
      "test_accuracy": result.accuracy, "test_loss": result.loss, "seconds": seconds, "weights": weights, "data": label,
    ], adding: summary)
  }
}
