import AutoPrune
import AutoPruneNN
import XCTest

/// Thinned and sparse networks compute what the masked model computes.
final class DeployTests: XCTestCase {
  private func input(_ n: Int, seed: UInt64) -> Tensor {
    let rng = RandomSource(seed: seed)
    return Tensor(shape: [n, 1, 28, 28], values: (0..<(n * 784)).map { _ in rng.uniform(-1, 2) })
  }

  private func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
    XCTAssertEqual(a.shape, b.shape)
    return zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0
  }

  /// Masks that remove whole units: rows with their biases, plus columns of the next layer.
  private func removeUnits(_ model: Model, rows: [String: [Int]], columns: [String: [Int]] = [:]) -> MagnitudePruning {
    let pruning = MagnitudePruning(model: model)
    for gate in pruning.gates {
      let layer = gate.layer
      var mask = Tensor(shape: layer.weight.shape, repeating: 1)
      var biasMask = Tensor(shape: layer.bias.shape, repeating: 1)
      for r in rows[layer.name] ?? [] {
        biasMask[r] = 0
        for c in 0..<layer.columns { mask[r * layer.columns + c] = 0 }
      }
      for c in columns[layer.name] ?? [] { for r in 0..<layer.rows { mask[r * layer.columns + c] = 0 } }
      gate.setMask(mask)
      gate.setBiasMask(biasMask)
    }
    return pruning
  }

  func testThinnedLeNet300MatchesTheMaskedModel() throws {
    let model = Model(.lenet300, rng: RandomSource(seed: 4))
    // fc1 loses 150 neurons; fc2 stops reading 20 more of fc1's (they die too) and loses 40 of
    // its own; pixels 0..<200 are no longer read.
    _ = removeUnits(
      model, rows: ["fc1": Array(stride(from: 0, to: 300, by: 2)), "fc2": Array(0..<40)],
      columns: ["fc1": Array(0..<200), "fc2": Array(stride(from: 1, to: 41, by: 2))])
    let thinned = try Thinning.thin(model)
    XCTAssertEqual(thinned.architecture, "584-130-60-10")
    XCTAssertEqual(thinned.parameterCount, 584 * 130 + 130 + 130 * 60 + 60 + 60 * 10 + 10)
    for n in [1, 9] {
      let x = input(n, seed: UInt64(n))
      XCTAssertLessThan(maxDifference(thinned.network(x), model.network(x)), 1e-5)
    }
  }

  func testThinnedLeNet5MatchesTheMaskedModel() throws {
    let model = Model(.lenet5, rng: RandomSource(seed: 5))
    // conv1 loses filters 3 and 7, conv2 half its filters (the fc1 columns they fed go with
    // them), fc1 100 neurons.
    _ = removeUnits(model, rows: ["conv1": [3, 7], "conv2": Array(stride(from: 0, to: 50, by: 2)), "fc1": Array(0..<100)])
    let thinned = try Thinning.thin(model)
    XCTAssertEqual(thinned.architecture, "18-25-400-10")
    let x = input(4, seed: 9)
    XCTAssertLessThan(maxDifference(thinned.network(x), model.network(x)), 1e-5)
  }

  func testAUnitWithOnlyABiasIsKeptAndANetworkWithNothingLeftIsRefused() throws {
    let model = Model(.lenet300, rng: RandomSource(seed: 6))
    // fc2 keeps unit 6 whole and unit 5's bias alone (a constant output, which must stay).
    let pruning = removeUnits(model, rows: ["fc2": (0..<100).filter { $0 != 6 }])
    var bias = Tensor(shape: [100], repeating: 0)
    bias[5] = 1
    bias[6] = 1
    pruning.gates[1].setBiasMask(bias)
    let thinned = try Thinning.thin(model)
    XCTAssertEqual(thinned.units[1].kept, 2)
    let x = input(3, seed: 1)
    XCTAssertLessThan(maxDifference(thinned.network(x), model.network(x)), 1e-5)
    // With no fc2 row left, nothing reads fc1: the output no longer depends on the input.
    _ = removeUnits(model, rows: ["fc2": Array(0..<100)])
    XCTAssertThrowsError(try Thinning.thin(model)) { error in
      XCTAssertEqual(error as? ThinningError, .nothingLeft("fc1"))
    }
  }

  func testSparseNetworkMatchesTheMaskedModel() {
    for kind in ModelKind.lenets {
      let model = Model(kind, rng: RandomSource(seed: 7))
      let pruning = MagnitudePruning(model: model)
      pruning.pruneRandomly(toSparsity: 0.95, rng: RandomSource(seed: 8))
      let sparse = SparseNetwork(model)
      // It stores what the report keeps: the masked weights of alive units on alive inputs.
      XCTAssertEqual(sparse.nonZeros, PruningReport(model: model).keptWeights)
      XCTAssertLessThanOrEqual(sparse.nonZeros, pruning.gates.reduce(0) { $0 + $1.keptCount })
      for n in [1, 5, 33] {
        let x = input(n, seed: UInt64(n))
        let expected = model.network(x)
        let scale = expected.storage.map(abs).max() ?? 1
        XCTAssertLessThan(maxDifference(sparse.forward(x), expected), 1e-5 * max(1, scale), "\(kind) batch \(n)")
      }
    }
  }

  /// A network whose first dense layer reads its input directly (no Flatten before it) still
  /// gets the feature selection in front of its thinned first layer.
  func testAFirstDenseLayerWithoutFlattenSelectsItsFeatures() throws {
    let rng = RandomSource(seed: 12)
    let model = Model(network: Sequential([("fc1", Dense(6, 4, rng: rng)), ("relu", ReLU()), ("fc2", Dense(4, 2, rng: rng))]),
                      inputShape: [6], name: "flat-mlp")
    _ = removeUnits(model, rows: [:], columns: ["fc1": [0, 3]])
    let thinned = try Thinning.thin(model)
    XCTAssertEqual(thinned.inputFeatures, [1, 2, 4, 5])
    XCTAssertEqual(thinned.architecture, PruningReport(model: model).architecture)
    let x = Tensor(shape: [3, 6], values: (0..<18).map { Float($0) / 7 - 1 })
    XCTAssertLessThan(maxDifference(thinned.network(x), model.network(x)), 1e-5)
  }

  /// Channel-wise layers of the ImageNet networks (ReLU6, adaptive pooling) thin like ReLU and
  /// pooling; a depthwise convolution loses the channels its input loses, and its own.
  func testReLU6AdaptivePoolingAndDepthwiseLayersThin() throws {
    let rng = RandomSource(seed: 13)
    let model = Model(network: Sequential([
      ("conv", Conv2D(1, 6, kernelSize: 3, rng: rng)), ("act", ReLU6()), ("pool", AdaptiveAvgPool2D(3, 3)),
      ("flatten", Flatten()), ("fc", Dense(54, 10, rng: rng)),
    ]), inputShape: [1, 12, 12], name: "six")
    _ = removeUnits(model, rows: ["conv": [1, 4]])
    let thinned = try Thinning.thin(model)
    XCTAssertEqual(thinned.architecture, "4-10")
    let x = Tensor(shape: [2, 1, 12, 12], values: (0..<288).map { Float($0 % 17) / 5 - 1 })
    XCTAssertLessThan(maxDifference(thinned.network(x), model.network(x)), 1e-5)
    let depthwise = Model(network: Sequential([
      ("conv", Conv2D(1, 4, kernelSize: 3, rng: rng)), ("dw", DepthwiseConv2D(channels: 4, kernelSize: 3, bias: false, rng: rng)),
      ("flatten", Flatten()), ("fc", Dense(256, 10, rng: rng)),
    ]), inputShape: [1, 12, 12], name: "dw")
    // conv loses filter 0 (its depthwise filter then sees zeros), the depthwise layer loses
    // channel 2's filter (the conv's channel 2 then reaches nothing): both channels go.
    _ = removeUnits(depthwise, rows: ["conv": [0], "dw": [2]])
    let thinnedDepthwise = try Thinning.thin(depthwise)
    XCTAssertEqual(thinnedDepthwise.units.map(\.kept), [2, 2, 10])
    XCTAssertEqual(thinnedDepthwise.units.map(\.kept), PruningReport(model: depthwise).layers.map(\.aliveUnits))
    XCTAssertLessThan(maxDifference(thinnedDepthwise.network(x), depthwise.network(x)), 1e-5)
  }

  func testSelectFeaturesGathersAndScattersExactly() {
    let select = SelectFeatures([2, 0], of: 3)
    let y = select.forward(Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), context: .inference)
    XCTAssertEqual(y.storage, [3, 1, 6, 4])
    XCTAssertEqual(select.backward(Tensor(shape: [2, 2], values: [1, 2, 3, 4])).storage, [2, 0, 1, 4, 0, 3])
  }
}

extension DeployTests {
  /// fc1 reads no pixel at all: its units live on their biases, and the thinned fc1 keeps one
  /// zero column rather than becoming a layer with no inputs.
  func testAFirstLayerThatReadsNothingKeepsOneZeroColumn() throws {
    let model = Model(.lenet300, rng: RandomSource(seed: 8))
    let pruning = MagnitudePruning(model: model)
    pruning.gates[0].setMask(Tensor(shape: [300, 784], repeating: 0))
    let thinned = try Thinning.thin(model)
    XCTAssertEqual(thinned.inputFeatures, [0])
    let x = Tensor(shape: [2, 1, 28, 28], values: (0..<1568).map { Float($0 % 7) })
    XCTAssertEqual(thinned.network(x).storage, model.network(x).storage)
  }

  /// VGG-like (width 0.125) with non-trivial BatchNorm statistics: filters removed in several
  /// convolutions (their BatchNorm channels close), a channel no later filter reads, units of the
  /// classifier; the thinned network (BatchNorm channels removed with their filters) computes
  /// what the masked one does.
  func testThinnedVGGLikeWithBatchNormMatchesTheMaskedModel() throws {
    let model = Model(.vggLike, rng: RandomSource(seed: 30), inputChannels: 1, width: 0.125)
    let rng = RandomSource(seed: 31)
    for case let bn as BatchNorm2D in model.network.layers.map(\.layer) {
      for c in 0..<bn.channels {
        bn.runningMean.value[c] = rng.uniform(-0.5, 0.5)
        bn.runningVariance.value[c] = rng.uniform(0.5, 2)
        bn.weight.value[c] = rng.uniform(0.5, 1.5)
        bn.bias.value[c] = rng.uniform(-0.5, 0.5)
      }
    }
    // conv4 stops reading conv3's channel 0 (its 9 columns), so that channel goes too.
    _ = removeUnits(model, rows: ["conv1": [0, 3], "conv2": [1], "conv5": [2, 5, 7], "conv13": [0], "fc1": [4, 9]], columns: ["conv4": Array(0..<9)])
    let thinned = try Thinning.thin(model)
    let kept = Dictionary(uniqueKeysWithValues: thinned.units.map { ($0.name, $0.kept) })
    XCTAssertEqual(kept["conv1"], 6)
    XCTAssertEqual(kept["conv2"], 7)
    XCTAssertEqual(kept["conv3"], 15)
    XCTAssertEqual(kept["conv5"], 29)
    XCTAssertEqual(kept["fc1"], 62)
    let x = Tensor(shape: [3, 1, 32, 32], values: (0..<(3 * 1024)).map { _ in rng.uniform(-1, 2) })
    let expected = model.network.forward(x, context: .inference)
    let scale = expected.storage.map(abs).max() ?? 1
    XCTAssertLessThan(maxDifference(thinned.network.forward(x, context: .inference), expected), 1e-5 * max(1, scale))
    XCTAssertLessThan(maxDifference(SparseNetwork(model).forward(x), expected), 1e-5 * max(1, scale), "sparse form")
    // The report counts BatchNorm: one multiply-add per output element of each alive channel.
    let report = PruningReport(layers: PrunableLayer.discover(in: model))
    let conv1 = try XCTUnwrap(report.layers.first)
    XCTAssertEqual(conv1.flops, 8 * 9 * 1024 + 8 * 1024)
    XCTAssertEqual(conv1.keptFLOPs, 6 * 9 * 1024 + 6 * 1024)
  }
}
