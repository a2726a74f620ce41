import XCTest

import AutoPrunePlot

final class ScaleTests: XCTestCase {
  func testNiceStepsAreOneTwoOrFiveTimesAPowerOfTen() {
    XCTAssertEqual(Ticks.step(span: 1, count: 5), 0.2)
    XCTAssertEqual(Ticks.step(span: 100, count: 5), 20)
    XCTAssertEqual(Ticks.step(span: 0.07, count: 5), 0.02, accuracy: 1e-12)
    XCTAssertEqual(Ticks.step(span: 37, count: 5), 10)
    XCTAssertEqual(Ticks.step(span: 0, count: 5), 1)
  }

  func testLinearTicksLieInsideAndAreExactMultiples() {
    let s = Scale(lower: 0.81, upper: 0.905, start: 0, end: 100)
    let ticks = s.ticks()
    XCTAssertEqual(ticks.count, 5)
    XCTAssertEqual(ticks.first!, 0.82, accuracy: 1e-12)
    XCTAssertEqual(ticks.last!, 0.9, accuracy: 1e-12)
    XCTAssertTrue(ticks.allSatisfy { s.contains($0) })
    XCTAssertEqual(s.label(0.84), "0.84")
    XCTAssertEqual(Scale(lower: -1, upper: 1, start: 0, end: 1).ticks(count: 4), [-1, -0.5, 0, 0.5, 1])
    XCTAssertEqual(Scale(lower: 0, upper: 50, start: 0, end: 1).label(20), "20")
  }

  func testPositionsMapTheEndsAndInvertForY() {
    let x = Scale(lower: 2, upper: 6, start: 50, end: 450)
    XCTAssertEqual(x.position(2), 50)
    XCTAssertEqual(x.position(6), 450)
    XCTAssertEqual(x.position(4), 250)
    let y = Scale(lower: 0, upper: 1, start: 300, end: 20)  // drawn upwards
    XCTAssertEqual(y.position(0), 300)
    XCTAssertEqual(y.position(1), 20)
    XCTAssertEqual(y.position(0.25), 230)
  }

  func testLogScaleDecadesAndPositions() {
    let s = Scale(.log, lower: 1, upper: 1000, start: 0, end: 300)
    XCTAssertEqual(s.ticks(), [1, 10, 100, 1000])
    XCTAssertEqual(s.position(10), 100, accuracy: 1e-9)
    XCTAssertEqual(s.position(100), 200, accuracy: 1e-9)
    XCTAssertEqual(s.label(1000), "1000")
    XCTAssertEqual(Scale(.log, lower: 1e-6, upper: 1, start: 0, end: 1).label(1e-5), "1e-5")
    // Many decades: every other one.
    XCTAssertEqual(Scale(.log, lower: 1, upper: 1e10, start: 0, end: 1).ticks(count: 5), [1, 1e2, 1e4, 1e6, 1e8, 1e10])
  }

  func testFittingWidensToTicksAndHandlesDegenerateInput() {
    let s = Scale.fitting([0.83, 0.897], start: 0, end: 1)
    XCTAssertEqual(s.lower, 0.82, accuracy: 1e-12)
    XCTAssertEqual(s.upper, 0.9, accuracy: 1e-12)
    let single = Scale.fitting([3], start: 0, end: 1)
    XCTAssertEqual(single.lower, 2.5)
    XCTAssertEqual(single.upper, 3.5)
    let log = Scale.fitting([3, 250], kind: .log, start: 0, end: 1)
    XCTAssertEqual(log.lower, 3 / pow(10, 0.08), accuracy: 1e-9)  // a fifth of a decade of room
    XCTAssertEqual(log.upper, 250 * pow(10, 0.08), accuracy: 1e-9)
    XCTAssertEqual(log.ticks(), [10, 100])
    // Within one decade the ticks fall back to 1-2-5 steps.
    XCTAssertEqual(Scale(.log, lower: 25, upper: 90, start: 0, end: 1).ticks(), [40, 60, 80])  // one 1-2-5 value: plain steps
    XCTAssertEqual(Scale(.log, lower: 15, upper: 90, start: 0, end: 1).ticks(), [20, 50])
    XCTAssertEqual(Scale(.log, lower: 15, upper: 90, start: 0, end: 1).label(20), "20")
    let empty = Scale.fitting([.nan], start: 0, end: 1)
    XCTAssertEqual([empty.lower, empty.upper], [0, 1])
  }
}
