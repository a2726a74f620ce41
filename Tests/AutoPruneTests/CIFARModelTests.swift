import XCTest

import AutoPrune
import AutoPruneNN

final class CIFARModelTests: XCTestCase {
  private func count(_ net: Sequential) -> Int { net.parameters.reduce(0) { $0 + $1.count } }

  /// Parameter counts worked out by hand (see the sums) and output shapes.
  func testResNetSizesAndNames() {
    let rng = RandomSource(seed: 1)
    let resnet20 = CIFARModels.resnet(depth: 20, rng: rng)
    // stem 432 + 32; stage 1: 3 × (2·2304 + 64); stage 2: 4608 + 9216 + 128 + 512 + 64 + 2 × (2·9216 + 128);
    // stage 3: 18432 + 36864 + 256 + 2048 + 128 + 2 × (2·36864 + 256); classifier 650.
    XCTAssertEqual(count(resnet20), 464 + 14_016 + 51_648 + 205_696 + 650)
    XCTAssertEqual(resnet20.outputShape(for: [3, 32, 32]), [10])
    let names = resnet20.parameters.map(\.name)
    XCTAssertEqual(names.first, "conv1.weight")
    XCTAssertTrue(names.contains("layer2.0.shortcut.0.weight"))
    XCTAssertTrue(names.contains("layer3.2.bn2.bias"))
    XCTAssertFalse(names.contains("layer1.0.shortcut.0.weight"), "identity shortcut where shapes match")
    XCTAssertEqual(names.last, "fc.bias")
    let resnet56 = CIFARModels.resnet(depth: 56, inputChannels: 1, rng: rng)
    XCTAssertEqual(resnet56.outputShape(for: [1, 32, 32]), [10])
    XCTAssertEqual(resnet56.parameters.filter { $0.name.hasSuffix("conv1.weight") }.count, 1 + 27)
  }

  func testVGGLikeSizesAtEveryWidth() {
    let rng = RandomSource(seed: 2)
    let full = CIFARModels.vggLike(width: 1, rng: rng)
    XCTAssertEqual(full.outputShape(for: [3, 32, 32]), [10])
    // 13 convolutions (no bias) + 13 BatchNorms + 512·512 + 512 + 512·10 + 10.
    let convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
                 (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    let expected = convs.reduce(0) { $0 + 9 * $1.0 * $1.1 + 2 * $1.1 } + 512 * 512 + 512 + 5130
    XCTAssertEqual(count(full), expected)
    // The count a file is checked against before a model is built: the weights alone.
    XCTAssertEqual(CIFARModels.vggLikeWeightCount(width: 1), convs.reduce(0) { $0 + 9 * $1.0 * $1.1 } + 512 * 512 + 5120)
    let quarter = CIFARModels.vggLike(width: 0.25, inputChannels: 1, rng: rng)
    XCTAssertEqual(quarter.outputShape(for: [1, 32, 32]), [10])
    XCTAssertEqual((quarter.layer(named: "fc1") as? Dense)?.inputSize, 128)
  }

  /// A ResNet-8 learns: a few SGD steps on eight fixed images lower the loss, in training mode
  /// (batch statistics) with every layer's backward involved.
  func testSmallResNetLossFalls() {
    let rng = RandomSource(seed: 3)
    let net = CIFARModels.resnet(depth: 8, inputChannels: 1, rng: rng)
    let x = Tensor(shape: [8, 1, 16, 16], values: (0..<(8 * 256)).map { _ in rng.uniform(-1, 1) })
    let labels = [0, 1, 2, 3, 4, 5, 6, 7]
    let sgd = SGD(learningRate: 0.05, momentum: 0.9)
    var losses: [Float] = []
    for _ in 0..<15 {
      for p in net.parameters { p.zeroGrad() }
      let result = SoftmaxCrossEntropy.evaluate(logits: net.forward(x, context: ForwardContext(training: true)), labels: labels)
      losses.append(result.loss)
      _ = net.backward(result.dLogits)
      sgd.step(net.parameters)
    }
    XCTAssertLessThan(losses.last!, 0.5 * losses.first!, "losses \(losses)")
  }
}
