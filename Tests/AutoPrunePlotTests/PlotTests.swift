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

final class ChartTests: XCTestCase {
  private func count(_ needle: String, in haystack: String) -> Int { haystack.components(separatedBy: needle).count - 1 }

  func testPlotAreaAndScalesMatchTheMargins() {
    var chart = XYChart(title: "t", xLabel: "epoch", yLabel: "accuracy")
    chart.width = 600
    chart.height = 300
    chart.series = [.init(name: "", color: "#000", points: [(1, 0.5), (10, 0.9)])]
    let l = chart.layout()
    XCTAssertEqual(l.left, 58)
    XCTAssertEqual(l.right, 600 - 14)  // no legend column without names
    XCTAssertEqual(l.x.position(l.x.lower), l.left)
    XCTAssertEqual(l.y.position(l.y.lower), l.bottom)
    XCTAssertEqual(l.y.position(l.y.upper), l.top)
    chart.series[0].name = "run"
    XCTAssertEqual(chart.layout().right, 600 - 14 - 150)
  }

  func testDataOutsideTheDomainIsClippedOrLeftOut() {
    var chart = XYChart(title: "clip", xLabel: "x", yLabel: "y")
    chart.xDomain = (0, 10)
    chart.yDomain = (0, 1)
    chart.series = [
      .init(name: "in and out", color: "#111111", points: [(1, 0.5), (20, 2), (5, 0.5)], line: false, marker: .square),
      .init(name: "line", color: "#222222", points: [(1, 0.2), (5, 5), (9, 0.3)]),
    ]
    let svg = chart.render(idPrefix: "c")
    let data = svg.components(separatedBy: "<g clip-path=\"url(#c-clip1)\">")[1].components(separatedBy: "</g>")[0]
    XCTAssertEqual(count("<rect x=", in: data), 2, "the point at (20, 2) is not drawn")
    XCTAssertTrue(svg.contains("<clipPath id=\"c-clip1\"><rect x=\"58\" y=\"30\""))
    XCTAssertTrue(svg.contains("<g clip-path=\"url(#c-clip1)\">"), "lines are drawn inside the clip")
  }

  func testPathBreaksAtMissingValuesAndDrawsSteps() {
    var chart = XYChart(title: "p", xLabel: "x", yLabel: "y")
    chart.xDomain = (0, 4)
    chart.yDomain = (0, 4)
    chart.width = 58 + 14 + 400  // plot 400 px wide: x scale 100 px per unit
    chart.height = 30 + 44 + 400
    chart.series = [.init(name: "", color: "#000", points: [(0, 0), (1, 1), (2, .nan), (3, 3), (4, 4)], steps: true)]
    let svg = chart.render(idPrefix: "p")
    // (0,0)→(58,430); (1,1)→(158,330) drawn as H then V; the gap restarts with M at (3,3)→(358,130).
    XCTAssertTrue(svg.contains("d=\"M58 430H158V330M358 130H458V30\""), svg)
  }

  func testEscapingAndCompactNumbers() {
    XCTAssertEqual(SVG.escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;")
    XCTAssertEqual(SVG.number(12), "12")
    XCTAssertEqual(SVG.number(12.5), "12.5")
    XCTAssertEqual(SVG.number(-0.25), "-0.25")
    XCTAssertEqual(SVG.number(3.14159), "3.14")
    XCTAssertEqual(SVG.number(0.001), "0")
    var chart = XYChart(title: "<script>", xLabel: "x", yLabel: "y")
    chart.series = [.init(name: "a&b", color: "#000", points: [(0, 0)], marker: .circle)]
    let svg = chart.render(idPrefix: "e")
    XCTAssertFalse(svg.contains("<script>"))
    XCTAssertTrue(svg.contains("a&amp;b"))
  }

  func testBarsAreProportionalAndClamped() {
    let chart = BarChart(title: "kept", items: [("fc1", 0.5, "50%"), ("fc2", 1.7, "170%"), ("fc3", -1, "?")])
    let span = chart.width - 70 - 120
    XCTAssertEqual(chart.bar(0).width, span / 2)
    XCTAssertEqual(chart.bar(1).width, span)
    XCTAssertEqual(chart.bar(2).width, 0)
    XCTAssertEqual(chart.bar(1).y - chart.bar(0).y, 22)
  }

  func testHeatMapCellsLevelsAndSize() {
    let values = (0..<(28 * 28)).map { Double($0 % 28) }  // columns 0…27
    let map = HeatMap(title: "pixels", rows: 28, columns: 28, values: values, legendLabel: "kept")
    XCTAssertEqual(map.level(0), 0)
    XCTAssertEqual(map.level(27), HeatMap.levels - 1)
    XCTAssertEqual(map.level(.nan), nil)
    XCTAssertEqual(map.origin(row: 2, column: 3).x, 30)
    XCTAssertEqual(map.origin(row: 2, column: 3).y, 28 + 20)
    let svg = map.render(idPrefix: "h")
    XCTAssertEqual(count("h10v10h-10z", in: svg), 28 * 28, "every cell drawn once")
    XCTAssertLessThan(svg.utf8.count, 30_000)
    XCTAssertEqual(Palette.sequential(0), "#440154")
    XCTAssertEqual(Palette.sequential(1), "#fde725")
  }
}
