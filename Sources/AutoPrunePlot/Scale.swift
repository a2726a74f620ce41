import Foundation

/// Maps data values onto a pixel span, linearly or by powers of ten, and chooses the tick values
/// a reader expects (1, 2, 5 × 10ⁿ steps; whole decades on a log scale).
public struct Scale: Equatable, Sendable {
  /// Linear, or base-10 logarithmic for values that span decades (losses, parameter counts).
  public enum Kind: Equatable, Sendable { case linear, log }

  /// Whether pixel positions are linear in the value or in its log₁₀.
  public let kind: Kind
  /// Data interval; `lower < upper` (and both > 0 on a log scale).
  public let lower: Double
  /// Top of the data interval (see `lower`).
  public let upper: Double
  /// Pixel positions of `lower` and `upper` (`start > end` for a y axis drawn upwards).
  public let start: Double
  /// Pixel position of `upper` (see `start`).
  public let end: Double

  /// A scale over `lower…upper`. A degenerate interval is widened (by ±0.5, or ×/÷ √10 on a log
  /// scale) so a single value still gets an axis; a log scale needs positive bounds.
  public init(_ kind: Kind = .linear, lower: Double, upper: Double, start: Double, end: Double) {
    precondition(lower.isFinite && upper.isFinite, "scale bounds must be finite")
    precondition(kind == .linear || (lower > 0 && upper > 0), "a log scale needs positive bounds")
    var lo = min(lower, upper), hi = max(lower, upper)
    if lo == hi {
      if kind == .log { lo /= 10.0.squareRoot(); hi *= 10.0.squareRoot() } else { lo -= 0.5; hi += 0.5 }
    }
    self.kind = kind
    self.lower = lo
    self.upper = hi
    self.start = start
    self.end = end
  }

  /// The scale of `values` with a little margin, widened outwards to tick values.
  public static func fitting(_ values: [Double], kind: Kind = .linear, start: Double, end: Double, including extra: [Double] = []) -> Scale {
    let all = (values + extra).filter { $0.isFinite && (kind == .linear || $0 > 0) }
    guard var lo = all.min(), var hi = all.max() else { return Scale(kind, lower: kind == .log ? 1 : 0, upper: kind == .log ? 10 : 1, start: start, end: end) }
    if kind == .log {
      // A little room (a fifth of a decade) beyond the extreme points; the ticks stay at
      // decades (or 1-2-5 steps when the data spans less than one).
      lo /= pow(10, 0.08)
      hi *= pow(10, 0.08)
    } else if lo != hi {
      // A 3% margin first, so a point at the extreme is not drawn on the frame.
      let pad = 0.03 * (hi - lo)
      let step = Ticks.step(span: hi - lo + 2 * pad, count: 5)
      lo = floor((lo - pad) / step) * step
      hi = ceil((hi + pad) / step) * step
    }
    return Scale(kind, lower: lo, upper: hi, start: start, end: end)
  }

  /// Pixel position of `value` (outside the interval it extrapolates: clipping is the chart's job).
  public func position(_ value: Double) -> Double {
    let t: Double
    switch kind {
    case .linear: t = (value - lower) / (upper - lower)
    case .log: t = (log10(max(value, .leastNormalMagnitude)) - log10(lower)) / (log10(upper) - log10(lower))
    }
    return start + t * (end - start)
  }

  /// Whether `value` lies in the interval (a hair of rounding tolerated).
  public func contains(_ value: Double) -> Bool {
    let slack = 1e-9 * (upper - lower)
    return value.isFinite && value >= lower - slack && value <= upper + slack && (kind == .linear || value > 0)
  }

  /// Tick values inside the interval: about `count` of them on a linear scale, each decade on a
  /// log scale (every other decade, and so on, when there are more than `count` + 1).
  public func ticks(count: Int = 5) -> [Double] {
    switch kind {
    case .linear: return Ticks.linear(lower: lower, upper: upper, count: count)
    case .log:
      let first = Int(ceil(log10(lower) - 1e-9)), last = Int(floor(log10(upper) + 1e-9))
      if last - first >= 1 {
        let every = max(1, Int(ceil(Double(last - first) / Double(max(1, count)))))
        return stride(from: first, through: last, by: every).map { pow(10, Double($0)) }
      }
      // Less than two decades inside: 1, 2 and 5 times the powers of ten, else plain steps.
      let candidates = (first - 1...last + 1).flatMap { e in [1.0, 2, 5].map { $0 * pow(10, Double(e)) } }.filter { contains($0) }
      return candidates.count >= 2 ? candidates : Ticks.linear(lower: lower, upper: upper, count: count)
    }
  }

  /// Label for a tick of this scale.
  public func label(_ value: Double, count: Int = 5) -> String {
    switch kind {
    case .linear: return Ticks.format(value, step: Ticks.step(span: upper - lower, count: count))
    case .log:
      let exponent = log10(value)
      if abs(exponent - exponent.rounded()) < 1e-9 { return Ticks.formatPower(value) }
      return Ticks.format(value, step: pow(10, floor(exponent)))
    }
  }
}

/// Tick arithmetic shared by the scales.
public enum Ticks {
  /// A 1, 2 or 5 × 10ⁿ step giving about `count` intervals over `span`.
  public static func step(span: Double, count: Int) -> Double {
    guard span > 0, span.isFinite else { return 1 }
    let raw = span / Double(max(1, count))
    let magnitude = pow(10, floor(log10(raw)))
    let residual = raw / magnitude
    let nice: Double = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10
    return nice * magnitude
  }

  /// Multiples of the nice step inside `lower…upper`.
  public static func linear(lower: Double, upper: Double, count: Int) -> [Double] {
    let s = step(span: upper - lower, count: count)
    let first = ceil(lower / s - 1e-9), last = floor(upper / s + 1e-9)
    guard first <= last else { return [] }
    // Multiply, never accumulate: 0.1 + 0.1 + 0.1 is not 0.3.
    return stride(from: first, through: last, by: 1).map { ($0 * s).magnitude < s * 1e-9 ? 0 : $0 * s }
  }

  /// `value` with the decimals its step needs (0.25 steps → 2 decimals; 50 → none).
  public static func format(_ value: Double, step: Double) -> String {
    let decimals = max(0, min(10, Int(-floor(log10(step) + 1e-9))))
    let text = String(format: "%.\(decimals)f", value)
    return text == "-0" ? "0" : text
  }

  /// A power of ten as a plain number up to 10⁴, else as `1e5`.
  public static func formatPower(_ value: Double) -> String {
    let exponent = Int((log10(value)).rounded())
    if exponent >= 0 && exponent <= 4 { return String(format: "%.0f", value) }
    if exponent < 0 && exponent >= -3 { return String(format: "%.\(-exponent)f", value) }
    return "1e\(exponent)"
  }
}
