/// A chart of lines and/or marker series over two scales, with axes, ticks, grid, a clipped plot
/// area and a legend. Renders to standalone SVG.
public struct XYChart {
  /// Point shapes: filled in the series colour, except `plus`, `cross` and `ring`, which are stroked.
  public enum Marker: CaseIterable, Sendable {
    case circle, square, triangle, diamond, triangleDown, plus, cross
    /// An open circle around a point, to single out points another series draws.
    case ring

    /// Markers that tell series apart (the ring only highlights).
    public static let shapes: [Marker] = [.circle, .square, .triangle, .diamond, .triangleDown, .plus, .cross]
  }

  /// One set of points, drawn as a line, as markers, or both.
  public struct Series {
    /// Legend entry; an empty name leaves the series out of the legend (and when every name is
    /// empty, no legend column is kept).
    public var name: String
    /// Any CSS colour, for the line and the markers (`Palette.color(_:)` gives distinguishable ones).
    public var color: String
    /// Data in drawing order; a non-finite point (or one ≤ 0 on a log axis) breaks the line.
    public var points: [(x: Double, y: Double)]
    /// Whether to join the points with a line.
    public var line: Bool
    /// Shape drawn at each point inside the plot area; nil for none.
    public var marker: Marker?
    /// Draws the line dashed (5 pixels on, 4 off), as for a reference or baseline.
    public var dashed: Bool
    /// Draws the line as steps (horizontal then vertical), as a Pareto front is drawn.
    public var steps: Bool
    /// Text beside each point (same order as `points`), e.g. run names.
    public var labels: [String]?

    /// Point `i`'s label, nil past the end of `labels` (fewer labels than points is allowed).
    func label(_ i: Int) -> String? { labels.flatMap { i < $0.count ? $0[i] : nil } }

    /// A solid line without markers unless told otherwise.
    public init(
      name: String, color: String, points: [(x: Double, y: Double)], line: Bool = true, marker: Marker? = nil, dashed: Bool = false,
      steps: Bool = false, labels: [String]? = nil
    ) {
      self.labels = labels
      self.name = name
      self.color = color
      self.points = points
      self.line = line
      self.marker = marker
      self.dashed = dashed
      self.steps = steps
    }
  }

  /// Where the plot area sits and how data maps into it.
  public struct Layout {
    /// Edges of the plot area in pixels from the SVG's top-left corner.
    public let left: Double, right: Double, top: Double, bottom: Double
    /// Data-to-pixel scales; `y` runs from `bottom` up to `top`.
    public let x: Scale, y: Scale
  }

  /// Heading above the plot, and the SVG's accessible name.
  public var title: String
  /// Axis title under the x axis (say the unit).
  public var xLabel: String
  /// Axis title beside the y axis, drawn rotated (say the unit).
  public var yLabel: String
  /// Linear or log x axis; a log axis skips points at x ≤ 0.
  public var xKind: Scale.Kind = .linear
  /// Linear or log y axis; a log axis skips points at y ≤ 0.
  public var yKind: Scale.Kind = .linear
  /// Fixed data intervals (default: fitted to the points).
  public var xDomain: (Double, Double)?
  /// Fixed y interval `(lower, upper)`; nil fits the points.
  public var yDomain: (Double, Double)?
  /// Width in CSS pixels, the 150-pixel legend column included when a series has a name.
  public var width: Double = 560
  /// Height in CSS pixels.
  public var height: Double = 320
  /// Drawn in order, so later series lie on top.
  public var series: [Series] = []
  /// Formats y tick labels (default: the scale's own), e.g. as percentages.
  public var yTickFormat: ((Double) -> String)?

  /// An empty chart with linear axes at the default size; add `series` before rendering.
  public init(title: String, xLabel: String, yLabel: String) {
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
  }

  static let margin = (left: 58.0, right: 14.0, top: 30.0, bottom: 44.0)
  /// Width kept for the legend on the right when a series has a name.
  static let legendWidth = 150.0

  /// The plot area and scales `render` uses, fitted to the series unless a domain is fixed.
  public func layout() -> Layout {
    let legend = series.contains { !$0.name.isEmpty } ? XYChart.legendWidth : 0
    let left = XYChart.margin.left, right = width - XYChart.margin.right - legend
    let top = XYChart.margin.top, bottom = height - XYChart.margin.bottom
    let xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
    let x = xDomain.map { Scale(xKind, lower: $0.0, upper: $0.1, start: left, end: right) }
      ?? Scale.fitting(xs, kind: xKind, start: left, end: right)
    let y = yDomain.map { Scale(yKind, lower: $0.0, upper: $0.1, start: bottom, end: top) }
      ?? Scale.fitting(ys, kind: yKind, start: bottom, end: top)
    return Layout(left: left, right: right, top: top, bottom: bottom, x: x, y: y)
  }

  /// The chart as SVG; `idPrefix` makes the id of its clip path unique on the page.
  public func render(idPrefix: String) -> String {
    var svg = SVG(width: width, height: height, idPrefix: idPrefix)
    let l = layout()
    svg.text(title, x: l.left, y: 18, cssClass: "title")
    // Grid and ticks.
    for t in l.y.ticks() {
      let y = l.y.position(t)
      svg.line(x1: l.left, y1: y, x2: l.right, y2: y, cssClass: "grid")
      svg.text(yTickFormat?(t) ?? l.y.label(t), x: l.left - 6, y: y + 4, anchor: "end", cssClass: "tick")
    }
    for t in l.x.ticks() {
      let x = l.x.position(t)
      svg.line(x1: x, y1: l.top, x2: x, y2: l.bottom, cssClass: "grid")
      svg.text(l.x.label(t), x: x, y: l.bottom + 16, anchor: "middle", cssClass: "tick")
    }
    svg.rect(x: l.left, y: l.top, width: l.right - l.left, height: l.bottom - l.top, attributes: [("class", "frame")])
    svg.text(xLabel, x: (l.left + l.right) / 2, y: height - 8, anchor: "middle", cssClass: "axis-label")
    svg.text(yLabel, x: 14, y: (l.top + l.bottom) / 2, anchor: "middle", cssClass: "axis-label",
             extra: [("transform", "rotate(-90 14 \(SVG.number((l.top + l.bottom) / 2)))")])
    // Data, clipped to the plot area.
    let clip = svg.uniqueID("clip")
    svg.raw("<clipPath id=\"\(clip)\"><rect x=\"\(SVG.number(l.left))\" y=\"\(SVG.number(l.top))\" width=\"\(SVG.number(l.right - l.left))\" height=\"\(SVG.number(l.bottom - l.top))\"/></clipPath>")
    var data = SVG(width: width, height: height, idPrefix: idPrefix)
    var labels: [(String, Double, Double)] = []
    for s in series {
      if s.line, let d = XYChart.path(s.points, l, steps: s.steps) {
        var attributes = [("d", d), ("fill", "none"), ("stroke", s.color), ("class", "series")]
        if s.dashed { attributes.append(("stroke-dasharray", "5 4")) }
        data.element("path", attributes)
      }
      if let marker = s.marker {
        for (i, p) in s.points.enumerated() where l.x.contains(p.x) && l.y.contains(p.y) {
          let x = l.x.position(p.x), y = l.y.position(p.y)
          data.raw(XYChart.marker(marker, x: x, y: y, color: s.color, title: s.label(i) ?? s.name))
          // Labels go outside the clip (drawn below) so they are never cut at the frame.
          if let label = s.label(i) { labels.append((label, x, y)) }
        }
      }
    }
    svg.raw("<g clip-path=\"url(#\(clip))\">" + data.body.joined() + "</g>")
    for (text, x, y) in labels {
      // Right of the point, or left of it in the right quarter of the plot.
      let flip = x > l.left + 0.75 * (l.right - l.left)
      svg.text(text, x: flip ? x - 7 : x + 7, y: y - 6, anchor: flip ? "end" : "start", cssClass: "point-label")
    }
    // Legend.
    var row = 0
    for s in series where !s.name.isEmpty {
      let x = l.right + 12, y = l.top + 8 + Double(row) * 18
      if s.line {
        var attributes = [("d", "M\(SVG.number(x)) \(SVG.number(y))h18"), ("stroke", s.color), ("class", "series")]
        if s.dashed { attributes.append(("stroke-dasharray", "5 4")) }
        svg.element("path", attributes)
      }
      if let marker = s.marker { svg.raw(XYChart.marker(marker, x: x + 9, y: y, color: s.color, title: nil)) }
      svg.text(s.name, x: x + 24, y: y + 4, cssClass: "legend")
      row += 1
    }
    return svg.render(label: title)
  }

  /// The series as one path, broken at non-finite values; nil when nothing is drawable.
  static func path(_ points: [(x: Double, y: Double)], _ l: Layout, steps: Bool) -> String? {
    var d = ""
    var pen = false
    for p in points {
      guard p.x.isFinite, p.y.isFinite, l.x.kind == .linear || p.x > 0, l.y.kind == .linear || p.y > 0 else {
        pen = false
        continue
      }
      let x = l.x.position(p.x), y = l.y.position(p.y)
      if !pen {
        d += "M\(SVG.number(x)) \(SVG.number(y))"
      } else if steps {
        d += "H\(SVG.number(x))V\(SVG.number(y))"
      } else {
        d += "L\(SVG.number(x)) \(SVG.number(y))"
      }
      pen = true
    }
    return d.isEmpty ? nil : d
  }

  /// A marker centred on (x, y), 4 px in radius, with a tooltip when `title` is given.
  public static func marker(_ m: Marker, x: Double, y: Double, color: String, title: String?) -> String {
    let r = 4.0
    let tip = title.map { "<title>\(SVG.escape($0))</title>" } ?? ""
    func n(_ v: Double) -> String { SVG.number(v) }
    let shape: String
    switch m {
    case .circle: shape = "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\""
    case .ring: shape = "<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r + 3.5))\" stroke-width=\"1.5\""
    case .square: shape = "<rect x=\"\(n(x - r))\" y=\"\(n(y - r))\" width=\"\(n(2 * r))\" height=\"\(n(2 * r))\""
    case .triangle: shape = "<path d=\"M\(n(x)) \(n(y - r - 1))L\(n(x + r + 1)) \(n(y + r))L\(n(x - r - 1)) \(n(y + r))Z\""
    case .triangleDown: shape = "<path d=\"M\(n(x)) \(n(y + r + 1))L\(n(x + r + 1)) \(n(y - r))L\(n(x - r - 1)) \(n(y - r))Z\""
    case .diamond: shape = "<path d=\"M\(n(x)) \(n(y - r - 1))L\(n(x + r + 1)) \(n(y))L\(n(x)) \(n(y + r + 1))L\(n(x - r - 1)) \(n(y))Z\""
    case .plus: shape = "<path d=\"M\(n(x - r - 1)) \(n(y))h\(n(2 * r + 2))M\(n(x)) \(n(y - r - 1))v\(n(2 * r + 2))\" stroke-width=\"2.5\""
    case .cross: shape = "<path d=\"M\(n(x - r)) \(n(y - r))l\(n(2 * r)) \(n(2 * r))M\(n(x + r)) \(n(y - r))l\(n(-2 * r)) \(n(2 * r))\" stroke-width=\"2.5\""
    }
    let stroked = m == .plus || m == .cross || m == .ring
    let paint = stroked ? " fill=\"none\" stroke=\"\(color)\"" : " fill=\"\(color)\" class=\"marker\""
    return shape + paint + ">" + tip + (m == .circle || m == .ring ? "</circle>" : m == .square ? "</rect>" : "</path>")
  }
}
