/// Plain-text tables as the tool prints them: a header, a rule, left-aligned first column and
/// right-aligned numbers.
public enum TextTable {
  /// `header` and `rows` aligned in columns two spaces apart; short rows are padded with blanks.
  public static func render(_ header: [String], _ rows: [[String]]) -> String {
    let widths = header.indices.map { c in ([header[c]] + rows.map { c < $0.count ? $0[c] : "" }).map(\.count).max() ?? 0 }
    func line(_ cells: [String]) -> String {
      header.indices.map { c in
        let cell = c < cells.count ? cells[c] : ""
        let pad = String(repeating: " ", count: widths[c] - cell.count)
        return c == 0 ? cell + pad : pad + cell
      }.joined(separator: "  ")
    }
    let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
    return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
  }

  /// A fraction as a percentage with two decimals (`0.9734` → `97.34%`).
  public static func percent(_ x: Float) -> String { String(format: "%.2f%%", 100 * x) }
}

extension PruningReport {
  /// The paper-style per-layer table: weights kept, compression, FLOPs kept and units alive per
  /// layer, and the total with the surviving architecture.
  public var table: String {
    var rows = layers.map { l in
      [l.name, "\(l.keptWeights)/\(l.weights)", TextTable.percent(Float(l.keptWeights) / Float(max(1, l.weights))),
       String(format: "%.1f×", l.compression), TextTable.percent(Float(l.keptFLOPs) / Float(max(1, l.flops))),
       "\(l.aliveUnits)/\(l.units)"]
    }
    rows.append(["total", "\(keptWeights)/\(weights)", TextTable.percent(keptFraction), String(format: "%.1f×", compression),
                 TextTable.percent(flopsFraction), architecture])
    return TextTable.render(["layer", "weights kept", "kept", "compression", "FLOPs", "units"], rows)
  }
}

extension AutoPrunePruning.BudgetOutcome {
  /// Where a phase-clock target landed, in one line (`flops`: the target counts multiply-adds).
  public func line(flops: Bool, stepsPerEpoch: Int) -> String {
    let what = flops ? "of the multiply-adds" : "of the weights"
    let when = String(format: "step %ld (pruning epoch %.1f)", step, Double(step) / Double(max(1, stepsPerEpoch)))
    if !reachable {
      return String(format: "target NOT reachable: %.2f%% %@ asked, but closing every gate keeps more; the masks froze at %.2f%% at %@",
                    100 * target, what, 100 * reached, when)
    }
    return String(format: "target %.2f%% %@: landed at %.2f%% at %@, masks frozen since", 100 * target, what, 100 * reached, when)
  }
}
