import AutoPrune
import AutoPruneNN
import XCTest

/// Accounting worked by hand on tiny networks.
final class PruningReportTests: XCTestCase {
  func testDenseUnitPruningRemovesRowsAndDownstreamColumns() {
    // 4 inputs → 3 hidden → 2 outputs. Close input 0 and hidden unit 1.
    let rng = RandomSource(seed: 1)
    let net = Sequential([("fc1", Dense(4, 3, rng: rng)), ("relu", ReLU()), ("fc2", Dense(3, 2, rng: rng))])
    let pruning = AutoPrunePruning(network: net, inputShape: [4], granularity: .unit, options: AutoPruneOptions.stepClock)
    let fc1 = pruning.gates[0]
    fc1.input = [-1, 1, 1, 1]
    fc1.output = [1, -1, 1]
    fc1.refreshMasks()
    let report = PruningReport(layers: pruning.layers)
    // fc1: rows {0, 2} × inputs {1, 2, 3} = 6 of 12; fc2: 2 rows × inputs {0, 2} = 4 of 6.
    XCTAssertEqual(report.layers.map(\.keptWeights), [6, 4])
    XCTAssertEqual(report.layers.map(\.weights), [12, 6])
    XCTAssertEqual(report.keptWeights, 10)
    XCTAssertEqual(report.compression, 1.8, accuracy: 1e-12)
    XCTAssertEqual(report.flops, 18)
    XCTAssertEqual(report.keptFLOPs, 10)
    XCTAssertEqual(report.architecture, "3-2-2")
    // The bias of a closed unit is gated too.
    XCTAssertEqual(fc1.mask(for: (net.layer(named: "fc1") as! Dense).bias)?.storage, [1, 0, 1])
  }

  func testConvFilterPruningCountsPositionsAndFlattenedColumns() {
    // conv 1→2 filters 3×3 on 5×5 (9 positions each), flatten 2·9 = 18 → dense 2.
    let rng = RandomSource(seed: 2)
    let net = Sequential([
      ("conv1", Conv2D(1, 2, kernelSize: 3, rng: rng)), ("relu", ReLU()), ("flatten", Flatten()),
      ("fc1", Dense(18, 2, rng: rng)),
    ])
    let pruning = AutoPrunePruning(network: net, inputShape: [1, 5, 5], granularity: .unit, options: AutoPruneOptions.stepClock)
    XCTAssertEqual(pruning.layers.map(\.positions), [9, 1])
    XCTAssertEqual(pruning.layers[1].inputsPerUpstreamUnit, 9)
    pruning.gates[0].output = [-1, 1]
    pruning.gates[0].refreshMasks()
    let report = PruningReport(layers: pruning.layers)
    // conv1 keeps filter 1: 9 weights × 9 positions = 81 of 162 FLOPs.
    XCTAssertEqual(report.layers[0].keptWeights, 9)
    XCTAssertEqual(report.layers[0].keptFLOPs, 81)
    XCTAssertEqual(report.layers[0].flops, 162)
    // fc1 loses the 9 columns fed by filter 0: 2 × 9 = 18 of 36.
    XCTAssertEqual(report.layers[1].keptWeights, 18)
    XCTAssertEqual(report.architecture, "1-2")
    XCTAssertEqual(report.flopsFraction, Float(81 + 18) / Float(162 + 36), accuracy: 1e-7)
  }

  func testWeightPruningCountsMaskEntriesAndDeadRows() {
    let rng = RandomSource(seed: 3)
    let net = Sequential([("fc1", Dense(3, 2, rng: rng)), ("fc2", Dense(2, 2, rng: rng))])
    (net.layer(named: "fc1") as! Dense).bias.value = Tensor(shape: [2], repeating: 0)
    let pruning = AutoPrunePruning(network: net, inputShape: [3], granularity: .weight, options: AutoPruneOptions.stepClock)
    // fc1 row 1 loses every weight (and has no bias): the unit is dead, so fc2's column 1 goes with it.
    pruning.gates[0].element = [1, -1, 1, -1, -1, -1]
    pruning.gates[0].refreshMasks()
    pruning.gates[1].element = [1, 1, 1, -1]
    pruning.gates[1].refreshMasks()
    let report = PruningReport(layers: pruning.layers)
    XCTAssertEqual(report.layers.map(\.keptWeights), [2, 2])
    XCTAssertEqual(report.layers.map(\.aliveUnits), [1, 2])
    // Input 1 is read by no kept weight: 2 inputs, 1 hidden unit, 2 outputs.
    XCTAssertEqual(report.architecture, "2-1-2")
    XCTAssertEqual(report.compression, 10.0 / 4.0, accuracy: 1e-12)
  }

  /// A unit whose outgoing weights are all masked reaches nothing: it is dead and its incoming
  /// weights are not kept (thinning removes it too). A unit with no incoming weight but a bias
  /// feeds a constant forward: alive.
  func testAUnitNothingReadsIsDeadAndABiasAloneKeepsOneAlive() {
    let rng = RandomSource(seed: 4)
    let net = Sequential([("fc1", Dense(2, 3, rng: rng)), ("relu", ReLU()), ("fc2", Dense(3, 2, rng: rng))])
    let fc1 = net.layer(named: "fc1") as! Dense
    fc1.bias.value = Tensor(shape: [3], values: [0, 0, 0.5])
    let pruning = AutoPrunePruning(network: net, inputShape: [2], granularity: .weight, options: AutoPruneOptions.stepClock)
    // fc1 unit 2 loses its weights (bias 0.5 stays); fc2 drops every weight on unit 0.
    pruning.gates[0].element = [1, 1, 1, 1, -1, -1]
    pruning.gates[0].refreshMasks()
    pruning.gates[1].element = [-1, 1, 1, -1, 1, 1]
    pruning.gates[1].refreshMasks()
    let report = PruningReport(layers: pruning.layers)
    XCTAssertEqual(report.layers.map(\.aliveUnits), [2, 2])
    // fc1: unit 1's two weights (unit 0 is read by nothing, unit 2 has none); fc2: the 4 on units 1 and 2.
    XCTAssertEqual(report.layers.map(\.keptWeights), [2, 4])
    XCTAssertEqual(report.architecture, "2-2-2")
    let thinned = try! Thinning.thin(network: net, inputShape: [2])
    XCTAssertEqual(thinned.units.map(\.kept), [2, 2])
    XCTAssertEqual(thinned.architecture, report.architecture)
  }
}
