/// A small SVG writer: elements are appended as text, attribute values escaped, numbers written
/// with at most two decimals (pixel precision) so pages stay small.
public struct SVG {
  /// Width in CSS pixels: the viewBox's and the drawn size's (a page may scale it down).
  public let width: Double
  /// Height in CSS pixels, like `width`.
  public let height: Double
  /// Markup appended so far, one element per entry; `render` wraps it in the `<svg>` element.
  public private(set) var body: [String] = []
  private var nextID = 0
  /// Prefix for ids (clip paths) so several charts can share one HTML page.
  public let idPrefix: String

  /// An empty document; `idPrefix` must be unique on the page (see `idPrefix`).
  public init(width: Double, height: Double, idPrefix: String) {
    self.width = width
    self.height = height
    self.idPrefix = idPrefix
  }

  /// The document for inline use in HTML (which needs no namespace: the page stays free of any
  /// URL), sized in CSS pixels and scaling with its container. `label` is its accessible name.
  public func render(label: String) -> String {
    "<svg viewBox=\"0 0 \(SVG.number(width)) \(SVG.number(height))\" width=\"\(SVG.number(width))\" height=\"\(SVG.number(height))\" role=\"img\" aria-label=\"\(SVG.escape(label))\">"
      + "<title>\(SVG.escape(label))</title>" + body.joined() + "</svg>"
  }

  /// A fresh id for this document.
  public mutating func uniqueID(_ stem: String) -> String {
    nextID += 1
    return "\(idPrefix)-\(stem)\(nextID)"
  }

  /// Appends `<name attributes…>content</name>` (self-closing without content).
  public mutating func element(_ name: String, _ attributes: [(String, String)], content: String? = nil) {
    let attrs = attributes.map { " \($0.0)=\"\(SVG.escape($0.1))\"" }.joined()
    if let content { body.append("<\(name)\(attrs)>\(content)</\(name)>") } else { body.append("<\(name)\(attrs)/>") }
  }

  /// Appends raw markup made by another writer.
  public mutating func raw(_ markup: String) { body.append(markup) }

  /// Appends escaped text with its baseline at (x, y). `anchor` is SVG's `text-anchor` (`start`,
  /// `middle`, `end`); `cssClass` picks a style of the report's stylesheet (`title`, `tick`, …).
  public mutating func text(_ string: String, x: Double, y: Double, anchor: String = "start", cssClass: String = "label", extra: [(String, String)] = []) {
    element("text", [("x", SVG.number(x)), ("y", SVG.number(y)), ("text-anchor", anchor), ("class", cssClass)] + extra, content: SVG.escape(string))
  }

  /// Appends a line; colour and width come from the page's CSS through `cssClass`.
  public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, cssClass: String) {
    element("line", [("x1", SVG.number(x1)), ("y1", SVG.number(y1)), ("x2", SVG.number(x2)), ("y2", SVG.number(y2)), ("class", cssClass)])
  }

  /// Appends a rectangle; a negative width or height becomes 0, so a bar of a negative value
  /// vanishes instead of making the SVG invalid.
  public mutating func rect(x: Double, y: Double, width: Double, height: Double, attributes: [(String, String)]) {
    element("rect", [("x", SVG.number(x)), ("y", SVG.number(y)), ("width", SVG.number(max(0, width))), ("height", SVG.number(max(0, height)))] + attributes)
  }

  /// XML text and attribute escaping.
  public static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for c in s {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.append(c)
      }
    }
    return out
  }

  /// `x` with at most two decimals and no trailing zeros ("12", "12.5", "-0.25").
  public static func number(_ x: Double) -> String {
    guard x.isFinite else { return "0" }
    let scaled = (x * 100).rounded()
    if scaled == 0 { return "0" }
    let whole = Int(scaled) / 100, frac = abs(Int(scaled) % 100)
    let sign = scaled < 0 && whole == 0 ? "-" : ""
    if frac == 0 { return "\(sign)\(whole)" }
    return frac % 10 == 0 ? "\(sign)\(whole).\(frac / 10)" : "\(sign)\(whole).\(frac < 10 ? "0" : "")\(frac)"
  }
}
