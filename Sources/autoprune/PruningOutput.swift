import AutoPrune
import Foundation

/// The paper-style per-layer table and the JSON fields of a pruning report.
extension PruningReport {
  var table: String {
    var rows = layers.map { l in
      [l.name, "\(l.keptWeights)/\(l.weights)", Output.percent(Float(l.keptWeights) / Float(max(1, l.weights))),
       String(format: "%.1f×", l.compression), Output.percent(Float(l.keptFLOPs) / Float(max(1, l.flops))),
       "\(l.aliveUnits)/\(l.units)"]
    }
    rows.append(["total", "\(keptWeights)/\(weights)", Output.percent(keptFraction), String(format: "%.1f×", compression),
                 Output.percent(flopsFraction), architecture])
    return Output.table(["layer", "weights kept", "kept", "compression", "FLOPs", "units"], rows)
  }

  var json: [String: Any] {
    [
      "compression": compression, "flops_fraction": flopsFraction, "kept_weights": keptWeights, "weights": weights,
      "flops": flops, "kept_flops": keptFLOPs, "architecture": architecture,
      "per_layer": layers.map {
        ["name": $0.name, "weights": $0.weights, "kept_weights": $0.keptWeights, "compression": $0.compression,
         "flops": $0.flops, "kept_flops": $0.keptFLOPs, "units": $0.units, "alive_units": $0.aliveUnits] as [String: Any]
      },
    ]
  }
}
