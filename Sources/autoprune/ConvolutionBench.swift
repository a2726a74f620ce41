import AutoPrune
import AutoPruneKernels
import AutoPruneNN

/// `bench --only conv`: each model convolution's forward and backward at its training batch,
/// with each backward lowering and each kernel set this CPU runs, so the automatic choice
/// (`Conv2D.usesShiftedLowering`) can be checked against measurement on every machine.
enum ConvolutionBench {
  struct Shape {
    let label: String
    let channels: Int, outputs: Int, kernel: Int, padding: Int, side: Int, batch: Int
    let inputGradient: Bool
  }

  static let shapes = [
    Shape(label: "lenet5 conv1", channels: 1, outputs: 20, kernel: 5, padding: 0, side: 28, batch: 100, inputGradient: false),
    Shape(label: "lenet5 conv2", channels: 20, outputs: 50, kernel: 5, padding: 0, side: 12, batch: 100, inputGradient: true),
    Shape(label: "lenet5 conv2 dW", channels: 20, outputs: 50, kernel: 5, padding: 0, side: 12, batch: 100, inputGradient: false),
    Shape(label: "resnet20 stem", channels: 1, outputs: 16, kernel: 3, padding: 1, side: 32, batch: 128, inputGradient: false),
    Shape(label: "resnet20 16@32", channels: 16, outputs: 16, kernel: 3, padding: 1, side: 32, batch: 128, inputGradient: true),
    Shape(label: "resnet20 32@16", channels: 32, outputs: 32, kernel: 3, padding: 1, side: 16, batch: 128, inputGradient: true),
    Shape(label: "resnet20 64@8", channels: 64, outputs: 64, kernel: 3, padding: 1, side: 8, batch: 128, inputGradient: true),
  ]

  static func table(budget: Double) -> [[String: Any]] {
    var rows: [[String]] = []
    var records: [[String: Any]] = []
    for shape in shapes {
      let rng = RandomSource(seed: 7)
      let conv = Conv2D(shape.channels, shape.outputs, kernelSize: shape.kernel, padding: shape.padding, rng: rng)
      conv.computesInputGradient = shape.inputGradient
      var x = Tensor(shape: [shape.batch, shape.channels, shape.side, shape.side])
      for i in 0..<x.count { x[i] = rng.normal() }
      let context = ForwardContext(training: true, rng: rng)
      let y = conv.forward(x, context: context)
      var dY = Tensor(shape: y.shape)
      for i in 0..<dY.count { dY[i] = rng.normal() }
      let automatic = conv.usesShiftedLowering ? "shifted" : "im2col"
      InstructionSet.forEachSupported { set in
        let forward = Bench.secondsPerCall(budget: budget / 3) { _ = conv.forward(x, context: context) }
        var backward: [ConvolutionLowering: Double] = [:]
        for lowering in [ConvolutionLowering.im2col, .shifted] {
          conv.backwardLowering = lowering
          backward[lowering] = Bench.secondsPerCall(budget: budget / 3) { _ = conv.backward(dY) }
        }
        conv.backwardLowering = .automatic
        let ms = { (t: Double) in String(format: "%.3f", t * 1e3) }
        rows.append([shape.label, set.description, ms(forward), ms(backward[.im2col]!), ms(backward[.shifted]!), automatic])
        records.append([
          "shape": shape.label, "kernels": set.description, "forward_ms": forward * 1e3, "backward_im2col_ms": backward[.im2col]! * 1e3,
          "backward_shifted_ms": backward[.shifted]! * 1e3, "automatic": automatic,
        ])
      }
    }
    print("Convolution forward and backward, ms per batch (LeNet-5 at 100, ResNet-20 at 128)")
    print(TextTable.render(["layer", "kernels", "forward", "bwd im2col", "bwd shifted", "automatic"], rows))
    print()
    return records
  }
}
