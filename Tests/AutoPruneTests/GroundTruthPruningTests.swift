import AutoPrune
import AutoPruneNN
import XCTest

/// Unit pruning of the first layer's inputs must find the features the label depends on.
final class GroundTruthPruningTests: XCTestCase {
  static let features = 64
  static let relevant = [3, 10, 17, 24, 35, 41, 50, 62]

  /// Label = [Σ_k a_k·x_k > 0] over the 8 relevant features; the other 56 are noise.
  private func batch(_ n: Int, rng: RandomSource) -> (Tensor, [Int]) {
    var x = Tensor(shape: [n, Self.features])
    var labels: [Int] = []
    for i in 0..<n {
      var score: Float = 0
      for j in 0..<Self.features { x[i * Self.features + j] = rng.normal() }
      for (k, j) in Self.relevant.enumerated() { score += (k % 2 == 0 ? 1 : -1) * x[i * Self.features + j] }
      labels.append(score > 0 ? 1 : 0)
    }
    return (x, labels)
  }

  func testInputUnitPruningKeepsTheRelevantInputsAndDropsDistractors() {
    for seed: UInt64 in [1, 2, 3, 4, 5] {
      let rng = RandomSource(seed: seed)
      let net = Sequential([("fc1", Dense(Self.features, 32, rng: rng)), ("relu", ReLU()), ("fc2", Dense(32, 2, rng: rng))])
      let sgd = SGD(learningRate: 0.05, momentum: 0.9)
      // Dense warm-up, then joint W/M pruning with unit gates.
      var pruning: AutoPrunePruning?
      for step in 0..<2500 {
        if step == 1000 {
          var o = AutoPruneOptions.stepClock
          o.mu = 2e-3
          // η_M small enough that W settles between gate moves (METHOD: a gate should need
          // many steps to close). With η_M = 1, 2–4 of the 8 relevant inputs ended flickering
          // at m ≈ 0, their weights grown while masked (measured, 5 seeds).
          o.etaM = 0.2
          pruning = AutoPrunePruning(network: net, inputShape: [Self.features], plan: ["fc1": [.input]], options: o)
        }
        let (x, labels) = batch(64, rng: rng)
        for p in net.parameters { p.zeroGrad() }
        let logits = net.forward(x, context: ForwardContext(training: true))
        _ = net.backward(SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels).dLogits)
        pruning?.afterBackward()
        sgd.step(net.parameters)
      }
      let open = pruning!.gates[0].inputOpen
      let keptRelevant = Self.relevant.filter { open[$0] }.count
      let keptDistractors = (0..<Self.features).filter { open[$0] && !Self.relevant.contains($0) }.count
      XCTAssertGreaterThanOrEqual(keptRelevant, 7, "seed \(seed): kept \(keptRelevant) of 8 relevant inputs")
      XCTAssertLessThanOrEqual(keptDistractors, 4, "seed \(seed): kept \(keptDistractors) distractors")
      let (x, labels) = batch(1000, rng: rng)
      let accuracy = Float(SoftmaxCrossEntropy.evaluate(logits: net(x), labels: labels).correct) / 1000
      XCTAssertGreaterThan(accuracy, 0.9, "seed \(seed)")
    }
  }
}
