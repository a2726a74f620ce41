import AutoPrune
import AutoPruneNN
import XCTest

/// Each baseline's defining behaviour, on small layers with weights set by the test.
final class BaselineTests: XCTestCase {
  /// fc1 (2×3) and fc2 (2×2) with known weights.
  private func network(_ w1: [Float], _ w2: [Float]) -> (Sequential, [PrunableLayer]) {
    let rng = RandomSource(seed: 1)
    let fc1 = Dense(3, 2, rng: rng), fc2 = Dense(2, 2, rng: rng)
    fc1.weight.value = Tensor(shape: [2, 3], values: w1)
    fc2.weight.value = Tensor(shape: [2, 2], values: w2)
    let net = Sequential([("fc1", fc1), ("fc2", fc2)])
    return (net, PrunableLayer.discover(in: net, inputShape: [3]))
  }

  func testOneShotGlobalMagnitudeKeepsTheLargestWeightsAnywhere() {
    let (_, layers) = network([0.1, -5, 0.2, 3, -0.3, 0.05], [4, -0.01, 0.4, 2])
    let pruning = MagnitudePruning(layers: layers)
    pruning.prune(toSparsity: 0.6, scope: .global)  // keep 4 of 10: −5, 4, 3, 2
    XCTAssertEqual(pruning.gates[0].mask.storage, [0, 1, 0, 1, 0, 0])
    XCTAssertEqual(pruning.gates[1].mask.storage, [1, 0, 0, 1])
    XCTAssertEqual(pruning.sparsity, 0.6, accuracy: 1e-6)
  }

  func testOneShotLayerwiseMagnitudePrunesTheSameFractionPerLayer() {
    let (_, layers) = network([0.1, -5, 0.2, 3, -0.3, 0.05], [4, -0.01, 0.4, 2])
    let pruning = MagnitudePruning(layers: layers)
    pruning.prune(toSparsity: 0.5, scope: .layerwise)
    XCTAssertEqual(pruning.gates[0].mask.storage, [0, 1, 0, 1, 1, 0])
    XCTAssertEqual(pruning.gates[1].mask.storage, [1, 0, 0, 1])
  }

  func testPrunedWeightsStayPutWhileFineTuning() {
    let (net, layers) = network([0.1, -5, 0.2, 3, -0.3, 0.05], [4, -0.01, 0.4, 2])
    let pruning = MagnitudePruning(layers: layers)
    pruning.prune(toSparsity: 0.5, scope: .layerwise)
    let fc1 = net.layer(named: "fc1") as! Dense
    let before = fc1.weight.value
    fc1.weight.grad = Tensor(shape: [2, 3], repeating: 1)
    pruning.afterBackward()
    SGD(learningRate: 0.1).step([fc1.weight])
    for i in 0..<6 where pruning.gates[0].mask[i] == 0 { XCTAssertEqual(fc1.weight.value[i], before[i]) }
    for i in 0..<6 where pruning.gates[0].mask[i] == 1 { XCTAssertEqual(fc1.weight.value[i], before[i] - 0.1, accuracy: 1e-6) }
    XCTAssertEqual(fc1.weight.effective[0], 0)
  }

  func testIterativeRoundsCompoundTheirFraction() {
    let rng = RandomSource(seed: 2)
    let layer = Dense(100, 100, rng: rng)
    let net = Sequential([("fc", layer)])
    let pruning = MagnitudePruning(layers: PrunableLayer.discover(in: net, inputShape: [100]))
    for _ in 0..<3 { pruning.pruneRound(fraction: 0.5) }
    // 1 − 0.5³ of the weights pruned, and what is left is the largest eighth.
    XCTAssertEqual(pruning.sparsity, 0.875, accuracy: 1e-3)
    let w = layer.weight.value.storage, m = pruning.gates[0].mask.storage
    let smallestKept = (0..<w.count).filter { m[$0] == 1 }.map { abs(w[$0]) }.min()!
    let largestPruned = (0..<w.count).filter { m[$0] == 0 }.map { abs(w[$0]) }.max()!
    XCTAssertGreaterThanOrEqual(smallestKept, largestPruned)
  }

  func testGradualScheduleIsCubic() {
    let s = GradualSchedule(initialSparsity: 0, finalSparsity: 0.9, startStep: 100, interval: 10, updates: 20)
    XCTAssertEqual(s.sparsity(at: 0), 0)
    XCTAssertEqual(s.sparsity(at: 100), 0)
    // Halfway: 0.9 − 0.9·(1/2)³ = 0.7875.
    XCTAssertEqual(s.sparsity(at: 200), 0.7875, accuracy: 1e-6)
    XCTAssertEqual(s.sparsity(at: 300), 0.9, accuracy: 1e-6)
    XCTAssertEqual(s.sparsity(at: 10_000), 0.9, accuracy: 1e-6)
    XCTAssertTrue(s.isUpdate(110))
    XCTAssertFalse(s.isUpdate(115))
    XCTAssertFalse(s.isUpdate(310))
  }

  func testRandomPruningHitsTheSparsityAndIgnoresMagnitude() {
    let rng = RandomSource(seed: 3)
    let layer = Dense(200, 50, rng: rng)
    let net = Sequential([("fc", layer)])
    let layers = PrunableLayer.discover(in: net, inputShape: [200])
    let a = MagnitudePruning(layers: layers)
    a.pruneRandomly(toSparsity: 0.9, rng: RandomSource(seed: 4))
    XCTAssertEqual(a.gates[0].keptCount, 1000)
    // Kept weights are as small on average as all weights (magnitude plays no part).
    let w = layer.weight.value.storage, m = a.gates[0].mask.storage
    let keptMean = (0..<w.count).filter { m[$0] == 1 }.map { abs(w[$0]) }.reduce(0, +) / 1000
    let allMean = w.map(abs).reduce(0, +) / Float(w.count)
    XCTAssertEqual(keptMean, allMean, accuracy: 0.1 * allMean)
    a.detach()
    let b = MagnitudePruning(layers: layers)
    b.pruneRandomly(toSparsity: 0.9, rng: RandomSource(seed: 4))
    XCTAssertEqual(b.gates[0].mask.storage, m, "same seed, same mask")
  }

  func testDNSHysteresisAndSplicing() {
    // Layer magnitudes 1, 2, 3, 4: mean 2.5, std √1.25; with c = 0: t = 2.5, a = 2.25, b = 2.75.
    let rng = RandomSource(seed: 5)
    let layer = Dense(4, 1, rng: rng)
    layer.weight.value = Tensor(shape: [1, 4], values: [1, -2, 3, 4])
    let net = Sequential([("fc", layer)])
    let dns = DynamicNetworkSurgery(layers: PrunableLayer.discover(in: net, inputShape: [4]), c: 0)
    XCTAssertEqual(dns.thresholds[0].cut, 2.25, accuracy: 1e-6)
    XCTAssertEqual(dns.thresholds[0].splice, 2.75, accuracy: 1e-6)
    XCTAssertEqual(dns.gates[0].mask.storage, [0, 0, 1, 1])
    // In the band (2.25, 2.75) a weight keeps its state: the cut −2 → −2.5 stays cut, the kept
    // 3 → 2.5 stays kept.
    layer.weight.value = Tensor(shape: [1, 4], values: [1, -2.5, 2.5, 4])
    dns.updateMasks()
    XCTAssertEqual(dns.gates[0].mask.storage, [0, 0, 1, 1])
    // A cut weight still learns from its gradient (splicing) and comes back above b.
    layer.weight.grad = Tensor(shape: [1, 4], values: [-2, 0, 0, 0])
    dns.afterBackward()
    SGD(learningRate: 1).step([layer.weight])
    XCTAssertEqual(layer.weight.value[0], 3)
    dns.updateMasks()
    XCTAssertEqual(dns.gates[0].mask.storage, [1, 0, 1, 1])
  }

  func testTargetedDropoutDropsOnlyTheSmallWeightsThenPrunesThem() {
    let rng = RandomSource(seed: 6)
    let layer = Dense(50, 20, rng: rng)
    let net = Sequential([("fc", layer)])
    let gate = TargetedDropoutGate(
      layer: PrunableLayer.discover(in: net, inputShape: [50])[0], targetFraction: 0.3, dropRate: 0.5)
    let w = layer.weight.value.storage
    let threshold = w.map(abs).sorted()[299]  // the 300th smallest magnitude
    var dropped = 0
    for _ in 0..<20 {
      gate.prepare(training: true, rng: rng)
      for i in 0..<w.count where gate.mask[i] == 0 {
        XCTAssertLessThanOrEqual(abs(w[i]), threshold, "a large weight was dropped")
        dropped += 1
      }
    }
    // α = 0.5 of the 300 candidates, 20 steps.
    XCTAssertEqual(Double(dropped) / 20, 150, accuracy: 15)
    gate.prepare(training: false, rng: nil)
    XCTAssertEqual(gate.mask.storage.filter { $0 == 0 }.count, 0, "evaluation uses every weight")
    gate.prune()
    gate.prepare(training: true, rng: rng)
    XCTAssertEqual(gate.mask.storage.filter { $0 == 0 }.count, 300)
    for i in 0..<w.count where gate.mask[i] == 0 { XCTAssertLessThanOrEqual(abs(w[i]), threshold) }
  }

  func testTargetedDropoutCandidatesMatchASortWithTies() {
    let rng = RandomSource(seed: 7)
    let layer = Dense(40, 30, rng: rng)
    // Many ties: magnitudes on a coarse grid.
    layer.weight.value = Tensor(shape: [30, 40], values: (0..<1200).map { _ in Float(rng.below(7) - 3) / 4 })
    let gate = TargetedDropoutGate(layer: PrunableLayer.discover(in: Sequential([("fc", layer)]), inputShape: [40])[0], targetFraction: 0.37, dropRate: 0.5)
    let w = layer.weight.value.storage
    let bySort = w.indices.sorted { abs(w[$0]) != abs(w[$1]) ? abs(w[$0]) < abs(w[$1]) : $0 < $1 }.prefix(444).sorted()
    XCTAssertEqual(gate.candidates(), Array(bySort))
  }

  func testScratchTrainsTheSurvivingUnitsAndLeavesUnmaskedLayersDense() throws {
    let model = Model(.lenet300, rng: RandomSource(seed: 3))
    // A unit-pruned file: fc1 loses its neurons 0 and 2 (rows and biases); fc3 has no mask.
    var rows = Tensor(shape: [300, 784], repeating: 1), bias = Tensor(shape: [300], repeating: 1)
    for unit in [0, 2] {
      bias[unit] = 0
      for c in 0..<784 { rows[unit * 784 + c] = 0 }
    }
    let masks = ["fc1.weight": rows, "fc1.bias": bias, "fc2.weight": Tensor(shape: [100, 300], repeating: 1)]
    let scratch = try ScratchBaseline(model: model, masks: masks, source: "unit.safetensors")
    let fc1 = scratch.pruning.gates[0].layer, fc3 = scratch.pruning.gates[2]
    XCTAssertEqual(fc1.bias.effective[0], 0)
    XCTAssertEqual(fc1.bias.effective[2], 0)
    XCTAssertEqual(fc1.bias.effective[1], fc1.bias.value[1])
    XCTAssertEqual(fc3.keptCount, fc3.weight.count)
    // The removed units' biases get no update.
    fc1.bias.grad = Tensor(shape: [300], repeating: 1)
    scratch.afterBackward()
    XCTAssertEqual(fc1.bias.grad[0], 0)
    XCTAssertEqual(fc1.bias.grad[1], 1)
    // A file without any mask is not a pruned model.
    XCTAssertThrowsError(try ScratchBaseline(model: model, masks: [:], source: "dense.safetensors")) { error in
      XCTAssertEqual(error as? WeightsError, .noMasks("dense.safetensors", model: "lenet300"))
    }
  }
}
