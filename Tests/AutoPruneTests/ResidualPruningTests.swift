import AutoPrune
import AutoPruneNN
import XCTest

/// Pruning across residual additions: channel spaces, tied output gates, accounting and
/// thinning of ResNets.
final class ResidualPruningTests: XCTestCase {
  /// Every BatchNorm of a network, residual blocks included.
  static func batchNorms(in network: Sequential) -> [BatchNorm2D] {
    network.layers.flatMap { _, layer -> [BatchNorm2D] in
      if let bn = layer as? BatchNorm2D { return [bn] }
      if let block = layer as? Residual { return batchNorms(in: block.body) + (block.shortcut.map(batchNorms) ?? []) }
      if let join = layer as? Concatenation { return join.branches.flatMap { batchNorms(in: $0.network) } }
      return []
    }
  }

  /// Running statistics and affine parameters away from their initial 0/1, so a wrong channel
  /// shows in the output.
  static func randomizeBatchNorms(_ network: Sequential, seed: UInt64) {
    let rng = RandomSource(seed: seed)
    for bn in batchNorms(in: network) {
      for c in 0..<bn.channels {
        bn.runningMean.value[c] = rng.uniform(-0.5, 0.5)
        bn.runningVariance.value[c] = rng.uniform(0.5, 2)
        bn.weight.value[c] = rng.uniform(0.5, 1.5)
        bn.bias.value[c] = rng.uniform(-0.5, 0.5)
      }
    }
  }

  func testResNet20SpacesTieEachStagesStreamAndLeaveBlockInteriorsFree() {
    let model = Model(.resnet20, rng: RandomSource(seed: 1), inputChannels: 1)
    let layers = PrunableLayer.discover(in: model)
    XCTAssertEqual(layers.count, 22)  // stem, 18 block convolutions, 2 projections, classifier
    let byName = Dictionary(uniqueKeysWithValues: layers.map { ($0.name, $0) })
    let stage1 = ["conv1", "layer1.0.conv2", "layer1.1.conv2", "layer1.2.conv2"].map { byName[$0]!.outputSpace }
    let stage2 = ["layer2.0.conv2", "layer2.0.shortcut.0", "layer2.1.conv2", "layer2.2.conv2"].map { byName[$0]!.outputSpace }
    let stage3 = ["layer3.0.conv2", "layer3.0.shortcut.0", "layer3.1.conv2", "layer3.2.conv2"].map { byName[$0]!.outputSpace }
    for stage in [stage1, stage2, stage3] { XCTAssertEqual(Set(stage).count, 1) }
    XCTAssertEqual(Set([stage1[0], stage2[0], stage3[0]]).count, 3)
    // Block interiors: each conv1 writes a space of its own, which its conv2 reads.
    for stage in 1...3 {
      for block in 0..<3 {
        let conv1 = byName["layer\(stage).\(block).conv1"]!, conv2 = byName["layer\(stage).\(block).conv2"]!
        XCTAssertEqual(conv2.inputSpace, conv1.outputSpace)
        XCTAssertEqual(layers.filter { $0.outputSpace == conv1.outputSpace }.count, 1)
        XCTAssertEqual(conv1.inputSpace, [stage1, stage2, stage3][block == 0 && stage > 1 ? stage - 2 : stage - 1][0])
      }
    }
    XCTAssertEqual(byName["layer2.0.shortcut.0"]!.inputSpace, stage1[0])
    XCTAssertEqual(byName["fc"]!.inputSpace, stage3[0])
    XCTAssertEqual(byName["fc"]!.inputsPerUpstreamUnit, 1)
    XCTAssertTrue(byName["conv1"]!.readsNetworkInput)
    XCTAssertEqual(layers.filter { $0.batchNorm != nil }.count, 21)
    XCTAssertEqual(byName["layer3.0.shortcut.0"]!.positions, 64)
    let groups = AutoPrunePruning(model: model, granularity: .unit, options: AutoPruneOptions.stepClock).groups
    XCTAssertEqual(groups.map { $0.members.map(\.layerName) }, [
      ["conv1", "layer1.0.conv2", "layer1.1.conv2", "layer1.2.conv2"],
      ["layer2.0.conv2", "layer2.0.shortcut.0", "layer2.1.conv2", "layer2.2.conv2"],
      ["layer3.0.conv2", "layer3.0.shortcut.0", "layer3.1.conv2", "layer3.2.conv2"],
    ])
  }

  /// fc0 and fc1 write one space (fc1's block adds its input back): their output gates share
  /// `m`, stepped once with the sum of both data terms and both penalties. Worked by hand:
  /// data Σ g·sgn(w) per row: fc0 (0.1 − 0.2, −0.3 + 0.4) = (−0.1, 0.1), fc1 (−0.5 − 0.1,
  /// 0.2 + 0.2) = (−0.6, 0.4); penalty 2μ = 0.2; m = 0.2 > 0 so s' = 1, η = 1:
  /// row 0: 0.2 − (−0.7 + 0.2) = 0.7 (open); row 1: 0.2 − (0.5 + 0.2) = −0.5 (closed in both).
  func testTiedOutputGatesStepTogetherWithSummedTerms() {
    let rng = RandomSource(seed: 2)
    let fc0 = Dense(2, 2, rng: rng), fc1 = Dense(2, 2, rng: rng), fc2 = Dense(2, 2, rng: rng)
    let network = Sequential([("fc0", fc0), ("block", Residual([("relu", ReLU()), ("fc1", fc1)])), ("fc2", fc2)])
    fc0.weight.value = Tensor(shape: [2, 2], values: [1, -2, 3, 0.5])
    fc1.weight.value = Tensor(shape: [2, 2], values: [-1, 1, 2, 2])
    var options = AutoPruneOptions.stepClock
    options.mu = 0.1
    options.etaM = 1
    options.m0 = 0.2
    let pruning = AutoPrunePruning(network: network, inputShape: [2], plan: ["fc0": [.output], "block.fc1": [.output]], options: options)
    XCTAssertEqual(pruning.groups.count, 1)
    fc0.weight.grad = Tensor(shape: [2, 2], values: [0.1, 0.2, -0.3, 0.4])
    fc1.weight.grad = Tensor(shape: [2, 2], values: [0.5, -0.1, 0.2, 0.2])
    pruning.afterBackward()
    for gate in pruning.gates {
      XCTAssertEqual(gate.output![0], 0.7, accuracy: 1e-6, gate.layerName)
      XCTAssertEqual(gate.output![1], -0.5, accuracy: 1e-6, gate.layerName)
      XCTAssertEqual(gate.mask(for: gate.weight)?.storage, [1, 1, 0, 0])
    }
    // The closed channel is gone from the whole stream: fc2's column reads nothing.
    let report = PruningReport(layers: pruning.layers)
    XCTAssertEqual(report.layers.map(\.aliveUnits), [1, 1, 2])
    XCTAssertEqual(report.layers[2].keptWeights, 2)
  }

  /// A checkpoint of tied gates with momentum on M: restored into a fresh pruning of the same
  /// network, the next steps are bit-identical to the uninterrupted run's.
  func testTiedGatesWithMomentumResumeExactly() throws {
    func make() -> (Sequential, AutoPrunePruning) {
      let rng = RandomSource(seed: 6)
      let network = Sequential([
        ("fc0", Dense(3, 4, rng: rng)), ("block", Residual([("relu", ReLU()), ("fc1", Dense(4, 4, rng: rng))])), ("fc2", Dense(4, 2, rng: rng)),
      ])
      var options = AutoPruneOptions.stepClock
      options.mu = 0.05
      options.etaM = 1
      options.auxiliaryMomentum = 0.9
      return (network, AutoPrunePruning(network: network, inputShape: [3], granularity: .unit, options: options))
    }
    func step(_ pruning: AutoPrunePruning, _ seed: UInt64) {
      let rng = RandomSource(seed: seed)
      for layer in pruning.layers { layer.weight.grad = Tensor(shape: layer.weight.shape, values: (0..<layer.weight.count).map { _ in rng.uniform(-0.2, 0.2) }) }
      pruning.afterBackward()
    }
    let (_, first) = make()
    XCTAssertEqual(first.groups.count, 1)
    for s in 0..<3 { step(first, UInt64(10 + s)) }
    var state = TrainingState()
    first.save(into: &state, prefix: "method")
    let (_, second) = make()
    try second.restore(from: state, prefix: "method")
    for s in 3..<6 {
      step(first, UInt64(10 + s))
      step(second, UInt64(10 + s))
    }
    XCTAssertEqual(first.gates.map(\.output), second.gates.map(\.output))
    XCTAssertNotEqual(first.gates[0].output, [Float](repeating: 1, count: 4), "the gates moved")
  }

  /// ResNet-20 with random BatchNorm statistics: channels closed through the stage groups and
  /// inside blocks. The thinned network (fewer channels in every stream and block) computes
  /// what the masked one does, and the report's kept multiply-adds are the thinned network's.
  /// Then one writer alone closes a stream channel the others keep: the channel stays, that
  /// writer's filter becomes a zero row whose BatchNorm outputs zero, and outputs still match.
  func testThinnedResNet20MatchesTheMaskedModel() throws {
    let model = Model(.resnet20, rng: RandomSource(seed: 3), inputChannels: 1)
    ResidualPruningTests.randomizeBatchNorms(model.network, seed: 4)
    let pruning = AutoPrunePruning(model: model, granularity: .unit, options: AutoPruneOptions.stepClock)
    func close(_ layer: String, _ channels: [Int]) {
      let gate = pruning.gates.first { $0.layerName == layer }!
      let members = gate.outputGroup?.members ?? [gate]
      for member in members {
        for c in channels { member.output![c] = -1 }
        member.refreshMasks()
      }
    }
    close("conv1", [2, 7])  // the stage-1 stream
    close("layer2.0.shortcut.0", [0, 31])  // the stage-2 stream
    close("layer3.1.conv2", [5, 60, 61])  // the stage-3 stream
    close("layer1.0.conv1", [0, 1, 2])
    close("layer2.1.conv1", Array(0..<16))
    close("layer3.2.conv1", [63])
    let rng = RandomSource(seed: 5)
    let x = Tensor(shape: [2, 1, 32, 32], values: (0..<2048).map { _ in rng.uniform(-1, 2) })

    func check(_ expectedKept: [String: Int]) throws -> ThinnedModel {
      let thinned = try Thinning.thin(model)
      let kept = Dictionary(uniqueKeysWithValues: thinned.units.map { ($0.name, $0.kept) })
      for (name, count) in expectedKept { XCTAssertEqual(kept[name], count, name) }
      let expected = model.network.forward(x, context: .inference)
      let got = thinned.network.forward(x, context: .inference)
      XCTAssertEqual(got.shape, expected.shape)
      let scale = max(1, expected.storage.map(abs).max() ?? 1)
      XCTAssertLessThan(zip(got.storage, expected.storage).map { abs($0 - $1) }.max() ?? 0, 1e-5 * scale)
      return thinned
    }
    let thinned = try check([
      "conv1": 14, "layer1.2.conv2": 14, "layer1.0.conv1": 13, "layer2.0.conv1": 32, "layer2.0.shortcut.0": 30,
      "layer2.1.conv1": 16, "layer3.0.conv2": 61, "layer3.2.conv1": 63, "fc": 10,
    ])
    let report = PruningReport(layers: PrunableLayer.discover(in: model))
    let thinnedReport = PruningReport(layers: PrunableLayer.discover(in: thinned.network, inputShape: model.inputShape))
    XCTAssertEqual(report.keptFLOPs, thinnedReport.flops)
    XCTAssertEqual(report.keptWeights, thinnedReport.weights)
    XCTAssertLessThan(report.flopsFraction, 0.95)

    // Untie one writer: layer1.1.conv2 alone closes stage-1 channel 4.
    let lone = pruning.gates.first { $0.layerName == "layer1.1.conv2" }!
    lone.output![4] = -1
    lone.refreshMasks()
    _ = try check(["conv1": 14, "layer1.1.conv2": 14])
  }
}
