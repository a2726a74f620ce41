/// A grid of values drawn as square cells coloured by viridis, with a colour bar. Cells are
/// grouped by colour level into one path per level (16 levels), which keeps a 28 × 28 map to a
/// few kilobytes of SVG.
public struct HeatMap {
  /// Heading above the grid, and the SVG's accessible name.
  public var title: String
  /// Cells down the grid (28 for the input pixels of an MNIST network).
  public let rows: Int
  /// Cells across the grid.
  public let columns: Int
  /// Row-major values; non-finite cells are left blank.
  public let values: [Double]
  /// Side of a cell in CSS pixels, so the grid is `columns · cell` by `rows · cell`.
  public var cell: Double = 10
  /// What the colours measure, written beside the colour bar (e.g. `links`).
  public var legendLabel: String
  /// Colour steps: one path each keeps the SVG small, and 16 still show a gradient.
  public static let levels = 16

  /// Traps unless `values` holds `rows × columns` entries.
  public init(title: String, rows: Int, columns: Int, values: [Double], legendLabel: String) {
    precondition(values.count == rows * columns, "heat-map of \(rows)×\(columns) needs \(rows * columns) values, got \(values.count)")
    self.title = title
    self.rows = rows
    self.columns = columns
    self.values = values
    self.legendLabel = legendLabel
  }

  static let top = 28.0

  /// Colour level of a value between the finite minimum and maximum (0 … levels − 1).
  public func level(_ v: Double) -> Int? { level(v, range: range) }

  /// The smallest and largest finite value (0…0 when none is), found once per render: a
  /// 300 × 784 map must not rescan its values for every cell.
  private var range: (lo: Double, hi: Double) {
    let finite = values.filter(\.isFinite)
    return (finite.min() ?? 0, finite.max() ?? 0)
  }

  private func level(_ v: Double, range: (lo: Double, hi: Double)) -> Int? {
    guard v.isFinite else { return nil }
    let (lo, hi) = range
    guard hi > lo else { return 0 }
    return min(HeatMap.levels - 1, Int((v - lo) / (hi - lo) * Double(HeatMap.levels)))
  }

  /// Top-left corner of cell (r, c).
  public func origin(row r: Int, column c: Int) -> (x: Double, y: Double) { (Double(c) * cell, HeatMap.top + Double(r) * cell) }

  /// Width in CSS pixels: the grid and 90 pixels for the colour bar and its labels.
  public var width: Double { Double(columns) * cell + 90 }
  /// Height in CSS pixels: the title and the grid.
  public var height: Double { HeatMap.top + Double(rows) * cell + 8 }

  /// The map as inline SVG; `idPrefix` keeps its ids apart from other charts' on the page.
  public func render(idPrefix: String) -> String {
    var svg = SVG(width: width, height: height, idPrefix: idPrefix)
    svg.text(title, x: 0, y: 18, cssClass: "title")
    let (lo, hi) = range
    var paths = [String](repeating: "", count: HeatMap.levels)
    for r in 0..<rows {
      for c in 0..<columns {
        guard let k = level(values[r * columns + c], range: (lo, hi)) else { continue }
        let o = origin(row: r, column: c)
        paths[k] += "M\(SVG.number(o.x)) \(SVG.number(o.y))h\(SVG.number(cell))v\(SVG.number(cell))h\(SVG.number(-cell))z"
      }
    }
    for (k, d) in paths.enumerated() where !d.isEmpty {
      svg.element("path", [("d", d), ("fill", Palette.sequential((Double(k) + 0.5) / Double(HeatMap.levels)))])
    }
    svg.rect(x: 0, y: HeatMap.top, width: Double(columns) * cell, height: Double(rows) * cell, attributes: [("class", "frame")])
    // Colour bar: top = maximum.
    let barX = Double(columns) * cell + 14, barH = Double(rows) * cell
    for k in 0..<HeatMap.levels {
      let y = HeatMap.top + barH - Double(k + 1) * barH / Double(HeatMap.levels)
      svg.rect(x: barX, y: y, width: 12, height: barH / Double(HeatMap.levels) + 0.5,
               attributes: [("fill", Palette.sequential((Double(k) + 0.5) / Double(HeatMap.levels)))])
    }
    svg.text(SVG.number(hi), x: barX + 16, y: HeatMap.top + 10, cssClass: "tick")
    svg.text(SVG.number(lo), x: barX + 16, y: HeatMap.top + barH, cssClass: "tick")
    svg.text(legendLabel, x: barX + 16, y: HeatMap.top + barH / 2, cssClass: "tick")
    return svg.render(label: title)
  }
}
