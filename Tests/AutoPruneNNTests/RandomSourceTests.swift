import AutoPruneNN
import XCTest

final class RandomSourceTests: XCTestCase {
  func testSameSeedGivesSameStreamAndDifferentSeedsDiffer() {
    let a = RandomSource(seed: 42), b = RandomSource(seed: 42), c = RandomSource(seed: 43)
    let sa = (0..<100).map { _ in a.next() }
    XCTAssertEqual(sa, (0..<100).map { _ in b.next() })
    XCTAssertNotEqual(sa, (0..<100).map { _ in c.next() })
  }

  func testUniformStaysInRangeWithPlausibleMean() {
    let rng = RandomSource(seed: 1)
    let values = (0..<20_000).map { _ in rng.uniform() }
    XCTAssertTrue(values.allSatisfy { $0 >= 0 && $0 < 1 })
    XCTAssertEqual(values.reduce(0, +) / 20_000, 0.5, accuracy: 0.01)
  }

  func testPermutationIsAPermutation() {
    let p = RandomSource(seed: 3).permutation(1000)
    XCTAssertEqual(p.sorted(), Array(0..<1000))
    XCTAssertNotEqual(p, Array(0..<1000))
  }

  func testBelowIsUnbiasedEnough() {
    let rng = RandomSource(seed: 5)
    var counts = [Int](repeating: 0, count: 3)
    for _ in 0..<30_000 { counts[rng.below(3)] += 1 }
    for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }
  }

  func testKaimingUniformBoundMatchesPyTorch() {
    // nn.Linear(in: 100): weights in ±1/sqrt(100) = ±0.1.
    var t = Tensor(shape: [50, 100])
    Initializer.kaimingUniform(&t, fanIn: 100, rng: RandomSource(seed: 9))
    XCTAssertLessThanOrEqual(t.storage.map(abs).max()!, 0.1)
    XCTAssertGreaterThan(t.storage.map(abs).max()!, 0.099)
  }
}
