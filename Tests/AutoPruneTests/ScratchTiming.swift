import XCTest
import Foundation
import AutoPrune
import AutoPruneNN
import AutoPruneKernels

final class ScratchTiming: XCTestCase {
  func testResNetStep() throws {
    let rng = RandomSource(seed: 1)
    let net = CIFARModels.resnet(depth: 20, inputChannels: 1, rng: rng)
    let x = Tensor(shape: [128, 1, 32, 32], values: (0..<(128 * 1024)).map { _ in rng.uniform(-1, 1) })
    let labels = (0..<128).map { $0 % 10 }
    let sgd = SGD(learningRate: 0.05, momentum: 0.9)
    var times: [String: Double] = [:]
    func step() {
      for p in net.parameters { p.zeroGrad() }
      var h = x
      var t0 = DispatchTime.now().uptimeNanoseconds
      var forwardTimes: [(String, UInt64)] = []
      for (name, layer) in net.layers {
        h = layer.forward(h, context: ForwardContext(training: true))
        let t1 = DispatchTime.now().uptimeNanoseconds
        forwardTimes.append((name, t1 - t0)); t0 = t1
      }
      let r = SoftmaxCrossEntropy.evaluate(logits: h, labels: labels)
      var g = r.dLogits
      for (name, layer) in net.layers.reversed() {
        g = layer.backward(g)
        let t1 = DispatchTime.now().uptimeNanoseconds
        times["bwd " + String(name.prefix(6)), default: 0] += Double(t1 - t0) / 1e6; t0 = t1
      }
      for (n, t) in forwardTimes { times["fwd " + String(n.prefix(6)), default: 0] += Double(t) / 1e6 }
      sgd.step(net.parameters)
    }
    step()
    times = [:]
    let t0 = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<5 { step() }
    let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 5e6
    print(String(format: "resnet20 step (batch 128): %.1f ms → epoch of 60000: %.1f s", ms, ms * 60000 / 128 / 1000))
    for (k, v) in times.sorted(by: { $0.value > $1.value }).prefix(12) { print(k, String(format: "%.1f ms", v / 5)) }
  }
}
