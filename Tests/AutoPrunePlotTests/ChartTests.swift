import XCTest
import AutoPrunePlot

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
