import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import Foundation
import XCTest

final class ModelTests: XCTestCase {
  func testLeNetParameterCountsAndPyTorchNames() {
    let l300 = Model(.lenet300, rng: RandomSource(seed: 1))
    XCTAssertEqual(l300.parameterCount, 266_610)
    XCTAssertEqual(l300.parameters.map(\.name), ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"])
    let l5 = Model(.lenet5, rng: RandomSource(seed: 1))
    XCTAssertEqual(l5.parameterCount, 431_080)
    XCTAssertEqual(l5.parameter(named: "conv2.weight")?.shape, [50, 20, 5, 5])
    XCTAssertEqual(l5.parameter(named: "fc1.weight")?.shape, [500, 800])
    XCTAssertEqual(l5.network.outputShape(for: l5.inputShape), [10])
  }

  func testWeightsRoundTripAndWrongModelIsRejected() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("w-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("l300.safetensors").path
    let model = Model(.lenet300, rng: RandomSource(seed: 2))
    try WeightsFile.save(model, normalization: Normalization(mean: 0.3, std: 0.35), to: path)
    let copy = Model(.lenet300, rng: RandomSource(seed: 3))
    let norm = try WeightsFile.load(into: copy, from: path)
    XCTAssertEqual(norm, Normalization(mean: 0.3, std: 0.35))
    for (a, b) in zip(model.parameters, copy.parameters) { XCTAssertEqual(a.value, b.value) }

    XCTAssertThrowsError(try WeightsFile.load(into: Model(.lenet5, rng: RandomSource(seed: 1)), from: path)) { error in
      XCTAssertEqual(error as? WeightsError, .wrongModel(path, fileModel: "lenet300", expected: "lenet5"))
    }
    // A file without metadata (as PyTorch writes) is still checked by names and shapes.
    let stray = dir.appendingPathComponent("stray.safetensors").path
    try SafeTensors.write([("features.0.weight", [1], [0])], metadata: [:], to: stray)
    XCTAssertThrowsError(try WeightsFile.load(into: Model(.lenet300, rng: RandomSource(seed: 1)), from: stray)) { error in
      XCTAssertEqual(error as? WeightsError, .unexpectedTensor(stray, name: "features.0.weight", model: "lenet300"))
    }
    let bare = dir.appendingPathComponent("bare.safetensors").path
    try SafeTensors.write([("fc1.weight", [300, 784], [Float](repeating: 0, count: 300 * 784))], metadata: [:], to: bare)
    XCTAssertThrowsError(try WeightsFile.load(into: Model(.lenet5, rng: RandomSource(seed: 1)), from: bare)) { error in
      XCTAssertEqual(error as? WeightsError, .missingTensor(bare, name: "conv1.weight", model: "lenet5"))
    }
    XCTAssertThrowsError(try WeightsFile.load(into: Model(.lenet300, rng: RandomSource(seed: 1)), from: bare)) { error in
      XCTAssertEqual(error as? WeightsError, .missingTensor(bare, name: "fc1.bias", model: "lenet300"))
    }
  }
}
