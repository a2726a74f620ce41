import AutoPruneNN
import Foundation

/// Dynamic network surgery (Guo, Yao & Chen 2016): per layer, two thresholds `a < b` from the
/// layer's weight magnitudes; a weight is cut when `|w| < a`, spliced back when `|w| > b`, and
/// keeps its state in between (hysteresis). Cut weights keep receiving gradients, so they can
/// grow back.
///
/// Thresholds follow the paper's recipe: `t = max(mean|w| + c·std|w|, 0)` over the layer at
/// attach time, `a = 0.9·t`, `b = 1.1·t`; masks are revisited every `interval` steps with
/// probability-free updates (the paper decays an update probability; a fixed interval keeps runs
/// deterministic).
public final class DynamicNetworkSurgery {
  public let layers: [PrunableLayer]
  /// One `MaskGate` per layer with `maskedWeightsLearn` on: cut weights keep their gradient.
  public let gates: [MaskGate]
  /// `(a, b)` per layer.
  public internal(set) var thresholds: [(cut: Float, splice: Float)]
  /// Optimizer steps between mask updates (default 1: every step).
  public let interval: Int
  var step = 0

  /// DNS on every Dense and Conv2D layer of `model`, thresholds set by `c` from its weights now.
  public convenience init(model: Model, c: Float, interval: Int = 1) {
    self.init(layers: PrunableLayer.discover(in: model), c: c, interval: interval)
  }

  /// Thresholds from the layers' weights now (pretrained ones, in the paper's setting), then a
  /// first cut.
  public init(layers: [PrunableLayer], c: Float, interval: Int = 1) {
    self.layers = layers
    self.interval = max(1, interval)
    gates = layers.map { MaskGate(layer: $0, maskedWeightsLearn: true) }
    thresholds = layers.map { layer in
      let magnitudes = layer.weight.value.storage.map(abs)
      let n = Float(max(1, magnitudes.count))
      let mean = magnitudes.reduce(0, +) / n
      let variance = magnitudes.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
      let t = max(mean + c * variance.squareRoot(), 0)
      return (0.9 * t, 1.1 * t)
    }
    updateMasks()
  }

  /// Cuts and splices with hysteresis.
  public func updateMasks() {
    for (gate, threshold) in zip(gates, thresholds) {
      let w = gate.weight.value.storage
      var mask = gate.mask
      for i in 0..<w.count {
        let magnitude = abs(w[i])
        if magnitude < threshold.cut {
          mask[i] = 0
        } else if magnitude > threshold.splice {
          mask[i] = 1
        }
      }
      gate.setMask(mask)
    }
  }

  /// When true the masks no longer change (fine-tuning).
  public var frozen = false

  /// Revisits the masks every `interval` steps; cut weights keep their full gradient until frozen.
  public func afterBackward() {
    step += 1
    if !frozen && step % interval == 0 { updateMasks() }
    for gate in gates { gate.applyWeightRule() }
  }

  /// Removes every gate: the layers compute with their plain weights again.
  public func detach() { for gate in gates { gate.detach() } }
}
