/// Colours that stay distinguishable for colour-blind readers and on light and dark backgrounds.
public enum Palette {
  /// Okabe & Ito (2008) categorical colours, without their black (invisible on a dark page).
  public static let categorical = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]

  /// The `i`-th categorical colour (cycling).
  public static func color(_ i: Int) -> String { categorical[((i % categorical.count) + categorical.count) % categorical.count] }

  /// Viridis (perceptually uniform, colour-blind safe) sampled at nine points, dark to light.
  static let viridis: [(Double, Double, Double)] = [
    (68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 145, 140),
    (40, 174, 128), (94, 201, 98), (173, 220, 48), (253, 231, 37),
  ]

  /// Viridis at `t` in [0, 1] (clamped), as `#rrggbb`.
  public static func sequential(_ t: Double) -> String {
    let x = min(1, max(0, t.isFinite ? t : 0)) * Double(viridis.count - 1)
    let i = min(viridis.count - 2, Int(x)), f = x - Double(i)
    let a = viridis[i], b = viridis[i + 1]
    func channel(_ p: Double, _ q: Double) -> Int { Int((p + (q - p) * f).rounded()) }
    return hex(channel(a.0, b.0), channel(a.1, b.1), channel(a.2, b.2))
  }

  static func hex(_ r: Int, _ g: Int, _ b: Int) -> String {
    let digits = Array("0123456789abcdef")
    return "#" + [r, g, b].map { v in String([digits[(v >> 4) & 15], digits[v & 15]]) }.joined()
  }
}
