// Prune LeNet-5 from Swift with the public API only: train it on the Fashion-MNIST subset that
// ships with the package, prune it with AutoPrune and with magnitude pruning (a baseline chosen
// by name) at the sparsity AutoPrune found, and keep everything: weights with their gates,
// ONNX, and an HTML report. `swift run -c release PruneLeNet [EPOCHS] [OUT]`.
import AutoPrune
import AutoPruneNN
import AutoPruneONNX
import AutoPruneReport

let epochs = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 3 : 3
let out = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : "runs/prune-lenet"
let (train, test) = try MNISTFormat.load(directory: BundledData.directory!)
var settings = PruningSettings()
for method in ["autoprune", "magnitude"] {
  let run = try PruningRun(.lenet5, train: train, test: test, logDirectory: "\(out)/\(method)")
  try run.trainDense(epochs: epochs)
  let outcome = try run.prune(method: method, settings: settings, epochs: 4 * epochs, finetuneEpochs: epochs)
  print("\n\(method): test accuracy \(outcome.testAccuracy) (dense \(outcome.startingAccuracy))\n\(outcome.report.table)")
  settings.sparsity = outcome.report.keptFraction < 1 ? 1 - outcome.report.keptFraction : 0.5
  try run.save(to: "\(out)/\(method)/model.safetensors")
  try ONNXExport.write(run.model, normalization: run.normalization, thin: true, to: "\(out)/\(method)/model.onnx")
  try run.writeSummary(outcome: outcome, out: "\(out)/\(method)/model.safetensors")
}
var warnings: [String] = []
try HTMLReport.write(runs: [out], to: "\(out)/report.html", title: "PruneLeNet", warnings: &warnings)
print("\nwrote \(out)/report.html")
