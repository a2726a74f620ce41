import AutoPrunePlot
import Foundation

/// The surviving architecture of a unit-pruned run: one column per layer, its outline the
/// original width and its fill the units still alive, with edges to the next layer.
struct ArchitectureDiagram {
  let layers: [(name: String, alive: Int, total: Int)]

  /// Nil unless some layer lost units (weight pruning keeps every unit).
  init?(run: RunRecord) {
    let layers = run.perLayer.compactMap { l -> (String, Int, Int)? in
      guard let total = l.units, let alive = l.aliveUnits, total > 0 else { return nil }
      return (l.name, alive, total)
    }
    guard layers.contains(where: { $0.1 < $0.2 }) else { return nil }
    self.layers = layers
  }

  static let columnWidth = 34.0, gap = 70.0, top = 30.0, plotHeight = 200.0

  /// Outline height ∝ √(units), so a 500-wide layer does not dwarf a 10-wide one; fill height
  /// is the alive share of the outline.
  func geometry(_ i: Int) -> (x: Double, totalY: Double, totalHeight: Double, aliveY: Double, aliveHeight: Double) {
    let largest = Double(layers.map(\.total).max() ?? 1).squareRoot()
    let l = layers[i]
    let h = ArchitectureDiagram.plotHeight * Double(l.total).squareRoot() / largest
    let y = ArchitectureDiagram.top + (ArchitectureDiagram.plotHeight - h) / 2
    let alive = h * Double(l.alive) / Double(l.total)
    return (20 + Double(i) * (ArchitectureDiagram.columnWidth + ArchitectureDiagram.gap), y, h, y + (h - alive) / 2, alive)
  }

  func render(idPrefix: String) -> String {
    let width = 40 + Double(layers.count) * (ArchitectureDiagram.columnWidth + ArchitectureDiagram.gap)
    var svg = SVG(width: width, height: ArchitectureDiagram.top + ArchitectureDiagram.plotHeight + 46, idPrefix: idPrefix)
    svg.text("Surviving units per layer", x: 0, y: 18, cssClass: "title")
    for i in layers.indices {
      let g = geometry(i)
      if i + 1 < layers.count {
        let n = geometry(i + 1)
        let x1 = g.x + ArchitectureDiagram.columnWidth, x2 = n.x
        for (a, b) in [(g.aliveY, n.aliveY), (g.aliveY + g.aliveHeight, n.aliveY + n.aliveHeight)] {
          svg.line(x1: x1, y1: a, x2: x2, y2: b, cssClass: "edge")
        }
      }
      svg.rect(x: g.x, y: g.totalY, width: ArchitectureDiagram.columnWidth, height: g.totalHeight, attributes: [("class", "unit-total")])
      svg.rect(x: g.x, y: g.aliveY, width: ArchitectureDiagram.columnWidth, height: g.aliveHeight, attributes: [("fill", Palette.color(2))])
      let base = ArchitectureDiagram.top + ArchitectureDiagram.plotHeight
      svg.text(layers[i].name, x: g.x + ArchitectureDiagram.columnWidth / 2, y: base + 18, anchor: "middle", cssClass: "tick")
      svg.text("\(layers[i].alive)/\(layers[i].total)", x: g.x + ArchitectureDiagram.columnWidth / 2, y: base + 34, anchor: "middle", cssClass: "legend")
    }
    return svg.render(label: "Surviving units: " + layers.map { "\($0.name) \($0.alive) of \($0.total)" }.joined(separator: ", "))
  }
}
