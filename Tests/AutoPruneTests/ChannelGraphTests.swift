import AutoPrune
import AutoPruneNN
import XCTest

/// One rule for which units are alive: the report and the thinned network agree on every unit
/// of every model, whatever the masks.
final class ChannelGraphTests: XCTestCase {
  /// Random element masks (a share `sparsity` of each layer's weights) plus whole rows closed,
  /// on top of which some next-layer columns die, so units die from both sides.
  private func prune(_ model: Model, sparsity: Float, closedRows: Float, seed: UInt64) {
    let rng = RandomSource(seed: seed)
    let pruning = MagnitudePruning(model: model)
    let last = pruning.gates.count - 1
    for (index, gate) in pruning.gates.enumerated() {
      let layer = gate.layer
      var mask = Tensor(shape: layer.weight.shape, values: (0..<layer.weight.count).map { _ in rng.uniform(0, 1) < sparsity ? 0 : 1 })
      var biasMask = Tensor(shape: layer.bias.shape, repeating: 1)
      if index < last {
        for r in 0..<layer.rows where rng.uniform(0, 1) < closedRows {
          biasMask[r] = 0
          for c in 0..<layer.columns { mask[r * layer.columns + c] = 0 }
        }
      }
      gate.setMask(mask)
      gate.setBiasMask(biasMask)
    }
  }

  /// SqueezeNet's fire module (1×1 squeeze, then 1×1 and 3×3 expansions side by side) and a
  /// DenseNet layer (its input joined with what it makes), with BatchNorms: the channels a
  /// concatenation joins are kept whole, the layers around them prune.
  static func concatenationModel() -> Model {
    let rng = RandomSource(seed: 1)
    let fire = Concatenation([
      ("expand1x1", [("conv", Conv2D(4, 6, kernelSize: 1, bias: false, rng: rng)), ("bn", BatchNorm2D(6)), ("relu", ReLU())]),
      ("expand3x3", [("conv", Conv2D(4, 6, kernelSize: 3, padding: 1, bias: false, rng: rng)), ("bn", BatchNorm2D(6)), ("relu", ReLU())]),
    ])
    let dense = Concatenation([("input", []), ("new", [("conv", Conv2D(12, 4, kernelSize: 3, padding: 1, rng: rng)), ("relu", ReLU())])])
    return Model(network: Sequential([
      ("stem", Conv2D(1, 8, kernelSize: 3, padding: 1, bias: false, rng: rng)), ("bn", BatchNorm2D(8)), ("relu", ReLU()),
      ("squeeze", Conv2D(8, 4, kernelSize: 1, rng: rng)), ("relu2", ReLU()), ("fire", fire), ("dense", dense),
      ("pool", MaxPool2D(2)), ("flatten", Flatten()), ("fc1", Dense(16 * 4 * 4, 20, rng: rng)), ("relu3", ReLU()), ("fc2", Dense(20, 10, rng: rng)),
    ]), inputShape: [1, 8, 8], name: "concatenations")
  }

  func testReportAndThinnedNetworkAgreeOnEveryUnitOfEveryModel() throws {
    var compared = 0
    // Every built-in model, and the ImageNet networks with depthwise convolutions and
    // inverted residuals (MobileNetV2) and bottlenecks (ResNet-50) at small inputs.
    var makers: [(String, () -> Model)] = ModelKind.allCases.filter { !$0.takesAnySize }.map { kind in
      (kind.rawValue, { Model(kind, rng: RandomSource(seed: 1), inputChannels: 1, width: kind == .vggLike ? 0.25 : 1) })
    }
    makers.append(("mobilenetv2", { ImageNetModels.mobilenetV2(width: 0.35, classes: 10, inputSize: 32, adaptStem: false, rng: RandomSource(seed: 1)) }))
    makers.append(("concatenations", { ChannelGraphTests.concatenationModel() }))
    makers.append(("resnet50", { ImageNetModels.resnet(depth: 50, classes: 10, inputSize: 32, adaptStem: false, rng: RandomSource(seed: 1)) }))
    for (kind, make) in makers {
      for (sparsity, closedRows) in [(Float(0.5), Float(0.2)), (0.97, 0.1), (0.995, 0)] {
        let model = make()
        // Non-trivial BatchNorm statistics: a filter reading only dead inputs then outputs a
        // non-zero constant that must survive thinning.
        ResidualPruningTests.randomizeBatchNorms(model.network, seed: 3)
        prune(model, sparsity: sparsity, closedRows: closedRows, seed: 7)
        let report = PruningReport(model: model)
        let thinned: ThinnedModel
        do {
          thinned = try Thinning.thin(model)
        } catch ThinningError.nothingLeft {
          // Nothing reaches the output: the report must say so too.
          XCTAssertTrue(report.layers.dropLast().contains { $0.aliveUnits == 0 }, "\(kind) \(sparsity)")
          continue
        }
        compared += 1
        let label = "\(kind) sparsity \(sparsity), rows \(closedRows)"
        XCTAssertEqual(report.layers.map(\.name), thinned.units.map(\.name), label)
        XCTAssertEqual(report.layers.map(\.aliveUnits), thinned.units.map(\.kept), label)
        XCTAssertEqual(report.architecture, thinned.architecture, label)
        // Every weight the report keeps is one the thinned network still holds; the thinned
        // network's own report keeps exactly those.
        let again = PruningReport(network: thinned.network, inputShape: thinned.inputShape)
        XCTAssertEqual(again.keptWeights, report.keptWeights, label)
        XCTAssertEqual(again.layers.map(\.aliveUnits), report.layers.map(\.aliveUnits), label)
        // And it computes what the masked model computes.
        let rng = RandomSource(seed: 9)
        let count = 2 * model.inputShape.reduce(1, *)
        let x = Tensor(shape: [2] + model.inputShape, values: (0..<count).map { _ in rng.uniform(-1, 2) })
        let expected = model.network.forward(x, context: .inference), got = thinned.network.forward(x, context: .inference)
        let scale = max(1, expected.storage.map(abs).max() ?? 1)
        XCTAssertLessThan(zip(got.storage, expected.storage).map { abs($0 - $1) }.max() ?? .infinity, 1e-4 * scale, label)
      }
    }
    XCTAssertGreaterThanOrEqual(compared, 16, "most cases leave a network to thin")
  }

  /// A BatchNorm belongs to the convolution right before it, not to one before a residual block
  /// in between (it normalises the block's sum).
  func testABatchNormAfterAResidualBlockBelongsToNoConvolution() {
    let rng = RandomSource(seed: 2)
    let network = Sequential([
      ("conv", Conv2D(1, 4, kernelSize: 3, padding: 1, rng: rng)),
      ("block", Residual([("conv", Conv2D(4, 4, kernelSize: 3, padding: 1, rng: rng))])), ("bn", BatchNorm2D(4)),
    ])
    let layers = PrunableLayer.discover(in: network, inputShape: [1, 6, 6])
    XCTAssertNil(layers[0].batchNorm)
    XCTAssertNil(layers[1].batchNorm, "the block's convolution is not right before it either")
  }
}
