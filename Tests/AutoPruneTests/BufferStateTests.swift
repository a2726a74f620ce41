import XCTest
import AutoPrune
import AutoPruneNN

final class BufferStateTests: XCTestCase {
  /// A ResNet's BatchNorm running averages survive a checkpoint exactly (resume must not reset
  /// them), and a wrong-sized entry is refused.
  func testRunningAveragesRoundTripThroughTrainingState() throws {
    let rng = RandomSource(seed: 4)
    let net = CIFARModels.resnet(depth: 8, inputChannels: 1, rng: rng)
    _ = net.forward(Tensor(shape: [4, 1, 8, 8], values: (0..<256).map { _ in rng.uniform(-1, 1) }), context: ForwardContext(training: true))
    var state = TrainingState()
    state.put(buffers: net.buffers)
    let fresh = CIFARModels.resnet(depth: 8, inputChannels: 1, rng: RandomSource(seed: 5))
    XCTAssertNotEqual(fresh.buffers[0].value.storage, net.buffers[0].value.storage)
    try state.restore(buffers: fresh.buffers)
    for (a, b) in zip(fresh.buffers, net.buffers) { XCTAssertEqual(a.value.storage, b.value.storage, a.name) }
    XCTAssertEqual(net.buffers.count, 2 * (1 + 2 * 3 + 2))  // stem, 2 per block × 3 blocks, 2 projections
    var wrong = TrainingState()
    wrong.put(net.buffers[0].name, [1, 2, 3])
    XCTAssertThrowsError(try wrong.restore(buffers: fresh.buffers))
  }
}
