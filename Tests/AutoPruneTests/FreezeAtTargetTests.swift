import AutoPrune
import AutoPruneNN
import XCTest

/// `freezeAtTarget`: the gates stop the first time the kept fraction reaches the target.
final class FreezeAtTargetTests: XCTestCase {
  /// Eight output units with no data gradient: the penalty alone walks their gates down, and
  /// they cross zero one by one (starting values `spacing` apart: 0.05 is 50 steps at
  /// η_M·μ = 1e-3). Target: half of the weights kept.
  private func openUnits(freezeAtTarget: Bool, spacing: Float = 0.05) -> (open: Int, frozen: Bool) {
    let rng = RandomSource(seed: 3)
    let net = Sequential([("fc1", Dense(4, 8, rng: rng))])
    var o = AutoPruneOptions.stepClock
    o.mu = 1e-4
    o.targetKeptFraction = 0.5
    o.freezeAtTarget = freezeAtTarget
    let pruning = AutoPrunePruning(network: net, inputShape: [4], plan: ["fc1": [.output]], options: o)
    pruning.gates[0].output = (0..<8).map { 0.001 + Float($0) * spacing }
    pruning.gates[0].refreshMasks()
    for _ in 0..<1000 {
      for p in net.parameters { p.zeroGrad() }
      pruning.afterBackward()
    }
    return (pruning.gates[0].output!.filter { $0 > 0 }.count, pruning.frozen)
  }

  func testGatesFreezeWhenTheTargetIsFirstReached() {
    let frozen = openUnits(freezeAtTarget: true)
    XCTAssertTrue(frozen.frozen)
    XCTAssertEqual(frozen.open, 4)
    // Without the switch μ only stops rising, and the gates already on their way down close.
    let adapting = openUnits(freezeAtTarget: false)
    XCTAssertFalse(adapting.frozen)
    XCTAssertLessThan(adapting.open, 4)
  }

  /// Gates crossing zero two steps apart (η_M·μ = 1e-3 a step, starts 0.002 apart): all eight
  /// cross between two of μ's 20-step checks, so the freeze must look after every step.
  func testFreezeCatchesGatesClosingStepsApart() {
    let frozen = openUnits(freezeAtTarget: true, spacing: 0.002)
    XCTAssertTrue(frozen.frozen)
    XCTAssertEqual(frozen.open, 4)
  }
}
