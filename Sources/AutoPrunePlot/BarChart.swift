/// Horizontal bars of fractions in [0, 1] (e.g. kept weights per layer): one labelled row per
/// item, the bar's full width meaning 1, the value printed beside it.
public struct BarChart {
  /// Heading above the bars, and the SVG's accessible name.
  public var title: String
  /// One row each: `value` in [0, 1] sets the bar (clamped; non-finite draws none) and `detail`
  /// is the text printed right of it.
  public var items: [(label: String, value: Double, detail: String)]
  /// Total width in CSS pixels; the bars get what the 70-pixel label and 120-pixel detail columns leave.
  public var width: Double = 420
  /// Bar fill, any CSS colour; the first categorical colour by default.
  public var color: String = Palette.color(0)

  /// A chart at the default width and colour; set them afterwards to change them.
  public init(title: String, items: [(label: String, value: Double, detail: String)]) {
    self.title = title
    self.items = items
  }

  static let rowHeight = 22.0, labelWidth = 70.0, valueWidth = 120.0, top = 28.0

  /// Height in CSS pixels: the title and a 22-pixel row per item.
  public var height: Double { BarChart.top + Double(items.count) * BarChart.rowHeight + 8 }

  /// Bar rectangle of row `i`: x, y, width, height. Values are clamped to [0, 1].
  public func bar(_ i: Int) -> (x: Double, y: Double, width: Double, height: Double) {
    let span = width - BarChart.labelWidth - BarChart.valueWidth
    let v = items[i].value.isFinite ? min(1, max(0, items[i].value)) : 0
    return (BarChart.labelWidth, BarChart.top + Double(i) * BarChart.rowHeight + 3, span * v, BarChart.rowHeight - 6)
  }

  /// The chart as inline SVG; `idPrefix` keeps its ids apart from other charts' on the page.
  public func render(idPrefix: String) -> String {
    var svg = SVG(width: width, height: height, idPrefix: idPrefix)
    svg.text(title, x: 0, y: 18, cssClass: "title")
    let span = width - BarChart.labelWidth - BarChart.valueWidth
    for (i, item) in items.enumerated() {
      let b = bar(i)
      svg.text(item.label, x: BarChart.labelWidth - 8, y: b.y + b.height - 4, anchor: "end", cssClass: "tick")
      svg.rect(x: b.x, y: b.y, width: span, height: b.height, attributes: [("class", "track")])
      svg.rect(x: b.x, y: b.y, width: b.width, height: b.height, attributes: [("fill", color)])
      svg.text(item.detail, x: BarChart.labelWidth + span + 8, y: b.y + b.height - 4, cssClass: "tick")
    }
    return svg.render(label: title)
  }
}
